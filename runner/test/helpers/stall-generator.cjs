/**
 * Test-only: an artificially stalled load generator. Preloaded with
 * NODE_OPTIONS="--require <this file>" into every process of a test's run, it acts only in
 * Artillery's worker threads (where the VUs run) and there blocks the event loop for
 * RELAY_PERF_TEST_STALL_MS (default 300) ms every second, like a generator starved of CPU.
 */
'use strict';
const { setInterval } = require('node:timers');
const { isMainThread } = require('node:worker_threads');

// Worker threads see no script in process.argv, but inherit the environment of the thread that starts them.
const MARK = 'RELAY_PERF_TEST_STALL_IN_ARTILLERY';
if (isMainThread && /artillery[\\/]bin[\\/]run$/.test(process.argv[1] || '')) process.env[MARK] = '1';
if (!isMainThread && process.env[MARK] === '1') {
  const ms = Number(process.env.RELAY_PERF_TEST_STALL_MS || 300);
  setInterval(() => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // busy: the thread cannot run timers or socket callbacks meanwhile
    }
  }, 1000).unref();
}
