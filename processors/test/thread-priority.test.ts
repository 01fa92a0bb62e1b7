import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { childEnv } from './helpers/mutant-env';
import {
  DEFAULT_OTHER_THREADS_NICE,
  otherThreadsNice,
  ownThreadId,
  LINUX_THREADS,
  ThreadPriority,
  type ThreadOs,
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
    env: childEnv(env),
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

/** A process with these threads; `self` is the calling thread; records every setNice. */
function fakeOs(self: number | null, threads: number[] | (() => number[]), gone: number[] = []) {
  const calls: [number, number][] = [];
  const os: ThreadOs = {
    self: () => self,
    threads: typeof threads === 'function' ? threads : () => threads,
    setNice: (tid, nice) => {
      if (gone.includes(tid)) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' });
      calls.push([tid, nice]);
    },
  };
  return { os, calls };
}

let channelSeq = 0;
const channelName = () => `thread-priority-unit-${process.pid}-${++channelSeq}`;
/** Lets BroadcastChannel messages (hello, answers) be delivered. */
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('ThreadPriority (fake OS, in process)', () => {
  const made: ThreadPriority[] = [];
  const priority = (...args: ConstructorParameters<typeof ThreadPriority>) => {
    const p = new ThreadPriority(...args);
    made.push(p);
    return p;
  };
  afterEach(() => made.splice(0).forEach((p) => p.close()));

  test('renices every thread but itself, once each; later threads on a later call', () => {
    let threads = [100, 101, 102];
    const { os, calls } = fakeOs(101, () => threads);
    const p = priority({ nice: 19, enabled: true, channelName: channelName(), os });
    expect(p.yieldOthers()).toEqual([]); // before register(): nothing
    p.register();
    expect(p.yieldOthers()).toEqual([100, 102]);
    expect(calls).toEqual([
      [100, 19],
      [102, 19],
    ]);
    threads = [100, 101, 102, 103];
    expect(p.yieldOthers()).toEqual([103]);
    expect(p.yieldOthers()).toEqual([]);
    expect(calls).toHaveLength(3);
  });

  test('spares every generator thread that registered, whichever came first', async () => {
    const name = channelName();
    const threads = [1, 2, 3, 4];
    const a = fakeOs(2, threads);
    const b = fakeOs(3, threads);
    const first = priority({ nice: 10, enabled: true, channelName: name, os: a.os });
    first.register();
    await settle();
    // The second joins later: its hello makes the first answer, so each learns the other.
    const second = priority({ nice: 10, enabled: true, channelName: name, os: b.os });
    second.register();
    await settle();
    expect(first.yieldOthers()).toEqual([1, 4]);
    expect(second.yieldOthers()).toEqual([1, 4]);
    // A thread on another channel (another process's run) is not spared.
    const stranger = priority({
      nice: 10,
      enabled: true,
      channelName: channelName(),
      os: fakeOs(4, threads).os,
    });
    stranger.register();
    await settle();
    expect(stranger.yieldOthers()).toEqual([1, 2, 3]);
  });

  test('a thread that ended meanwhile is skipped and not retried; a listing that fails changes nothing', () => {
    const { os, calls } = fakeOs(1, [1, 2, 3], [2]);
    const p = priority({ nice: 19, enabled: true, channelName: channelName(), os });
    p.register();
    expect(p.yieldOthers()).toEqual([3]);
    expect(p.yieldOthers()).toEqual([]);
    expect(calls).toEqual([[3, 19]]);
    const broken = fakeOs(1, () => {
      throw new Error('ENOENT /proc/self/task');
    });
    const q = priority({ nice: 19, enabled: true, channelName: channelName(), os: broken.os });
    q.register();
    expect(q.yieldOthers()).toEqual([]);
  });

  test('without its own thread id (no /proc) it never registers, so never renices', () => {
    const { os, calls } = fakeOs(null, [1, 2]);
    const p = priority({ nice: 19, enabled: true, channelName: channelName(), os });
    p.register();
    expect(p.yieldOthers()).toEqual([]);
    expect(calls).toEqual([]);
  });

  test.each([
    ['nice 0', { nice: 0, enabled: true }],
    ['disabled', { nice: 19, enabled: false }],
  ])('%s: register() does nothing and nothing is reniced', (_, opts) => {
    const { os, calls } = fakeOs(1, [1, 2]);
    const p = priority({ ...opts, channelName: channelName(), os });
    p.register();
    expect(p.yieldOthers()).toEqual([]);
    expect(calls).toEqual([]);
  });

  test('register() twice keeps one channel; close() ends yielding', () => {
    const threads = [1, 2, 3];
    const { os } = fakeOs(1, () => threads);
    const p = priority({ nice: 19, enabled: true, channelName: channelName(), os });
    p.register();
    p.register();
    expect(p.yieldOthers()).toEqual([2, 3]);
    p.close();
    threads.push(4); // a thread started after close() is left alone
    expect(p.yieldOthers()).toEqual([]);
  });

  test("disabled by default on a main thread (Artillery's, here Jest's), whatever the nice value", () => {
    const { os, calls } = fakeOs(1, [1, 2]);
    const p = priority({ nice: 19, channelName: channelName(), os });
    p.register();
    expect(p.yieldOthers()).toEqual([]);
    expect(calls).toEqual([]);
  });

  test("LINUX_THREADS lists this process's threads, this one included", () => {
    const tids = LINUX_THREADS.threads();
    expect(tids).toContain(process.pid);
    expect(tids).toContain(LINUX_THREADS.self());
    expect(tids.every((t) => Number.isInteger(t) && t > 0)).toBe(true);
  });
});

describe('ThreadPriority (real threads, child process)', () => {
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
