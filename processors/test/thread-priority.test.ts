import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  DEFAULT_OTHER_THREADS_NICE,
  otherThreadsNice,
  ownThreadId,
  ThreadPriority,
} from '../lib/thread-priority';

const CHILD = path.join(__dirname, 'helpers', 'thread-priority-child.ts');

interface ChildReport {
  main: number;
  generators: number[];
  changed: number[];
  again: number[];
  nice: Record<string, number>;
}

/** Runs the fixture in its own process (renicing must not touch Jest's threads). */
function runChild(env: Record<string, string>): ChildReport {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`child exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildReport;
}

describe('otherThreadsNice (RELAY_PERF_OTHER_THREADS_NICE)', () => {
  test.each([
    [undefined, DEFAULT_OTHER_THREADS_NICE],
    ['', 0],
    [' ', 0],
    ['0', 0],
    ['7', 7],
    ['19', 19],
  ])('%j gives %d', (raw, nice) => {
    expect(otherThreadsNice(raw)).toBe(nice);
  });

  test.each(['x', '-1', '20', '1.5', '19abc'])('%j is refused with the variable named', (raw) => {
    expect(() => otherThreadsNice(raw)).toThrow(
      `RELAY_PERF_OTHER_THREADS_NICE must be an integer 0-19 (0: off), got "${raw}"`,
    );
  });
});

describe('ownThreadId', () => {
  test("is the process id on the main thread, another thread's id in a worker", async () => {
    expect(ownThreadId()).toBe(process.pid);
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const m = /\\/task\\/(\\d+)$/.exec(require('node:fs').readlinkSync('/proc/thread-self'));
       parentPort.postMessage(Number(m[1]));`,
      { eval: true },
    );
    const tid = await new Promise<number>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect(tid).not.toBe(process.pid);
    expect(tid).toBeGreaterThan(0);
  });
});

describe('ThreadPriority', () => {
  test('every thread but the generators gets the nice value; generators keep 0', () => {
    const r = runChild({ GENERATORS: '2', NICE: '19' });
    expect(r.generators).toHaveLength(2);
    expect(new Set(r.generators).size).toBe(2);
    // The main thread (Artillery's, in a real run) is among those changed.
    expect(r.changed).toContain(r.main);
    for (const tid of r.generators) {
      expect(r.changed).not.toContain(tid);
      expect(r.nice[tid]).toBe(0);
    }
    // Every other thread alive afterwards: changed now, at 19 (V8's helpers, libuv's pool ...).
    const others = Object.keys(r.nice)
      .map(Number)
      .filter((tid) => !r.generators.includes(tid));
    expect(others.length).toBeGreaterThan(1);
    for (const tid of others) {
      expect(r.changed).toContain(tid);
      expect(r.nice[tid]).toBe(19);
    }
    // Once a second in a real run: a second pass touches no thread again.
    expect(r.again).toEqual([]);
  });

  test('off by default', () => {
    expect(DEFAULT_OTHER_THREADS_NICE).toBe(0);
    const r = runChild({ GENERATORS: '1', NICE: '' });
    expect(r.changed).toEqual([]);
  });

  test('a nice value of 5 is given as such', () => {
    const r = runChild({ GENERATORS: '1', NICE: '5' });
    expect(r.nice[r.main]).toBe(5);
    expect(r.nice[r.generators[0]]).toBe(0);
  });

  test.each([
    ['off by the value 0', { NICE: '0' }],
    ["disabled (Artillery's main thread)", { ENABLED: 'false' }],
  ])('%s: no thread is touched', (_, env) => {
    const r = runChild({ GENERATORS: '1', ...env });
    expect(r.changed).toEqual([]);
    expect(Object.values(r.nice).every((n) => n === 0)).toBe(true);
  });

  test('inert on a main thread (the default there), before and after register()', () => {
    const priority = new ThreadPriority();
    expect(priority.yieldOthers()).toEqual([]);
    priority.register();
    expect(priority.yieldOthers()).toEqual([]);
    priority.close();
  });
});
