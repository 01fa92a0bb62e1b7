import { Worker } from 'node:worker_threads';
import {
  hottestThreadWindow,
  readThreadTicks,
  readThreadWaits,
  type ThreadSample,
} from '../../scripts/thread-cpu';

const at = (s: number, ticks: Record<number, number>): ThreadSample => ({
  atMs: s * 1000,
  ticks: new Map(Object.entries(ticks).map(([tid, t]) => [Number(tid), t])),
});

describe('hottestThreadWindow', () => {
  test('finds the thread and the window with the most CPU, in cores', () => {
    // tid 1 busy early (50 ticks/s), tid 2 busy late (90 ticks/s = 0.9 cores).
    const samples = [
      at(0, { 1: 0, 2: 0 }),
      at(1, { 1: 50, 2: 0 }),
      at(2, { 1: 100, 2: 10 }),
      at(3, { 1: 100, 2: 100 }),
      at(4, { 1: 100, 2: 190 }),
      at(5, { 1: 100, 2: 280 }),
    ];
    expect(hottestThreadWindow(samples, 3)).toEqual({ tid: 2, cores: 0.9, seconds: 3, waitMsPerSec: null });
    expect(hottestThreadWindow(samples, 1)).toEqual({ tid: 2, cores: 0.9, seconds: 1, waitMsPerSec: null });
    // the whole span: tid 2 used 280 ticks in 5 s
    expect(hottestThreadWindow(samples, 60)).toEqual({ tid: 2, cores: 0.56, seconds: 5, waitMsPerSec: null });
  });

  test('a window counts real elapsed time between samples, not the number of samples', () => {
    const samples = [at(0, { 7: 0 }), at(0.5, { 7: 50 }), at(2.5, { 7: 150 })];
    // 0.5 -> 2.5: 100 ticks in 2 s = 0.5 cores; 0 -> 2.5 has more ticks (150 in 2.5 s)
    expect(hottestThreadWindow(samples, 2)).toEqual({ tid: 7, cores: 0.6, seconds: 2.5, waitMsPerSec: null });
  });

  test('a thread born inside a window counts from its first sample, not from zero', () => {
    // tid 9 appears at 2 s having used 500 ticks before (e.g. a reused tid): only 20 count.
    const samples = [at(0, { 1: 0 }), at(1, { 1: 10 }), at(2, { 1: 20, 9: 500 }), at(3, { 1: 30, 9: 520 })];
    expect(hottestThreadWindow(samples, 10)).toEqual({ tid: 1, cores: 0.1, seconds: 3, waitMsPerSec: null });
  });

  test("gives the hottest thread's run-queue wait over its window, in ms per second", () => {
    const w = (ns: Record<number, number>) => new Map(Object.entries(ns).map(([t, v]) => [Number(t), v]));
    const samples: ThreadSample[] = [
      { ...at(0, { 1: 0, 2: 0 }), waitNs: w({ 1: 0, 2: 0 }) },
      { ...at(1, { 1: 10, 2: 70 }), waitNs: w({ 1: 5e6, 2: 20e6 }) },
      { ...at(2, { 1: 20, 2: 140 }), waitNs: w({ 1: 9e6, 2: 320e6 }) },
    ];
    // tid 2 is hottest; over 0-2 s it waited 320 ms: 160 ms per second. Its 1 s windows tie at 70
    // ticks and the first (0-1 s) is kept: 20 ms waited.
    expect(hottestThreadWindow(samples, 2)).toEqual({ tid: 2, cores: 0.7, seconds: 2, waitMsPerSec: 160 });
    expect(hottestThreadWindow(samples, 1)!.waitMsPerSec).toBe(20);
    // A window whose first sample lacks the thread's wait starts from its first sample that has it.
    const late: ThreadSample[] = [{ ...samples[0], waitNs: w({ 1: 0 }) }, samples[1], samples[2]];
    expect(hottestThreadWindow(late, 2)!.waitMsPerSec).toBe(150);
    // Samples without waits (no schedstat): null.
    expect(
      hottestThreadWindow(
        samples.map(({ atMs, ticks }) => ({ atMs, ticks })),
        2,
      )!.waitMsPerSec,
    ).toBeNull();
  });

  test('null without two samples or without any CPU used; RangeError for a bad window', () => {
    expect(hottestThreadWindow([], 5)).toBeNull();
    expect(hottestThreadWindow([at(0, { 1: 5 })], 5)).toBeNull();
    expect(hottestThreadWindow([at(0, { 1: 5 }), at(1, { 1: 5 })], 5)).toBeNull();
    expect(() => hottestThreadWindow([at(0, {}), at(1, {})], 0)).toThrow(RangeError);
    expect(() => hottestThreadWindow([at(0, {}), at(1, {})], Number.NaN)).toThrow(RangeError);
  });
});

describe('readThreadTicks', () => {
  test('reads every thread of a live process; a busy worker thread shows up as the hottest', async () => {
    const spin = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.postMessage('spinning');
       const end = Date.now() + 1500;
       while (Date.now() < end);`,
      { eval: true },
    );
    await new Promise((r) => spin.once('message', r));
    const samples: ThreadSample[] = [{ atMs: Date.now(), ticks: readThreadTicks(process.pid) }];
    // The main thread sleeps meanwhile: the worker is the only thread that can be hot.
    await new Promise((r) => setTimeout(r, 1000));
    samples.push({ atMs: Date.now(), ticks: readThreadTicks(process.pid) });
    await new Promise((r) => spin.once('exit', r));
    expect(samples[0].ticks.has(process.pid)).toBe(true);
    expect(samples[0].ticks.size).toBeGreaterThan(1);
    const hot = hottestThreadWindow(samples, 5);
    expect(hot).not.toBeNull();
    expect(hot!.tid).not.toBe(process.pid);
    expect(hot!.cores).toBeGreaterThan(0);
    expect(hot!.cores).toBeLessThanOrEqual(1.05);
  });

  test('an empty map for a process that does not exist', () => {
    expect(readThreadTicks(2 ** 30).size).toBe(0);
    expect(readThreadWaits(2 ** 30).size).toBe(0);
  });

  test("readThreadWaits reads every thread's run-queue wait, in ns, never decreasing", async () => {
    const first = readThreadWaits(process.pid);
    expect(first.has(process.pid)).toBe(true);
    expect([...first.values()].every((ns) => Number.isInteger(ns) && ns >= 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(readThreadWaits(process.pid).get(process.pid)!).toBeGreaterThanOrEqual(first.get(process.pid)!);
  });
});
