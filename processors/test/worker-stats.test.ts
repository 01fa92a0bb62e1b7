/**
 * WorkerStats: counters summed per thread and emitted once a second, the event-loop stall
 * probe, and the runner's progress lines. The clock the probe reads (frame.nowMs) is
 * replaced by a variable so a stall is an exact number, and Jest's fake timers drive the
 * 50 ms probe and 1 s flush intervals.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { decodeHistogram, IntervalLatency, newHistogram } from '../lib/latency';
import { COUNTERS, HISTOGRAMS, IOT_COUNTERS } from '../lib/metric-names';
import { WorkerStats, type Emitter } from '../lib/worker-stats';
import type { ThreadPriority } from '../lib/thread-priority';

let clockMs = 0;
jest.mock('../lib/frame', () => ({
  ...jest.requireActual<typeof import('../lib/frame')>('../lib/frame'),
  nowMs: () => clockMs,
}));

type Event = [string, ...unknown[]];

function recorder(): Emitter & { events: Event[]; counters(): Record<string, number> } {
  const events: Event[] = [];
  return {
    events,
    emit: (event: string, ...args: unknown[]) => events.push([event, ...args]),
    /** Sum per counter name over everything emitted so far. */
    counters() {
      const sums: Record<string, number> = {};
      for (const [event, name, value] of events)
        if (event === 'counter') sums[name as string] = (sums[name as string] ?? 0) + (value as number);
      return sums;
    },
  };
}

describe('WorkerStats', () => {
  let dir: string;
  const all: WorkerStats[] = [];
  const stats = (...args: ConstructorParameters<typeof WorkerStats>) => {
    const s = new WorkerStats(...args);
    all.push(s);
    return s;
  };

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    clockMs = 0;
    dir = mkdtempSync(path.join(tmpdir(), 'worker-stats-'));
  });
  afterEach(() => {
    all.splice(0).forEach((s) => s.stopTimers());
    jest.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  const progress = (file: string) =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];

  it('announces every counter once, as 0, on the first attach only', () => {
    const s = stats(undefined, undefined);
    const first = recorder();
    const second = recorder();
    s.attach(first);
    s.attach(second);
    expect(first.events).toEqual(
      [...Object.values(COUNTERS), ...Object.values(IOT_COUNTERS)].map((name) => ['counter', name, 0]),
    );
    expect(second.events).toEqual([]);
  });

  it('sums counters and emits each non-zero one once per flush, then starts again from 0', () => {
    const s = stats(undefined, undefined);
    const em = recorder();
    s.attach(em);
    em.events.splice(0);
    s.add('sent');
    s.add('sent', 4);
    s.add('delivered', 9);
    s.add('lost', 2);
    s.flush();
    expect(em.events).toEqual([
      ['counter', COUNTERS.sent, 5],
      ['counter', COUNTERS.delivered, 9],
      ['counter', COUNTERS.lost, 2],
    ]);
    em.events.splice(0);
    s.flush();
    expect(em.events).toEqual([]);
    s.add('reordered', 3);
    s.flush();
    expect(em.events).toEqual([['counter', COUNTERS.reordered, 3]]);
  });

  it('sums counters named by metric (IOT_COUNTERS) like the others: non-zero ones once per flush, then from 0', () => {
    const s = stats(undefined, undefined);
    const em = recorder();
    s.attach(em);
    em.events.splice(0);
    s.count(IOT_COUNTERS.sent);
    s.count(IOT_COUNTERS.sent, 2);
    s.count(IOT_COUNTERS.refused, 4);
    s.count(IOT_COUNTERS.refused, -4); // summed to 0: nothing to emit
    s.flush();
    expect(em.events).toEqual([['counter', IOT_COUNTERS.sent, 3]]);
    em.events.splice(0);
    s.flush();
    expect(em.events).toEqual([]);
  });

  it('keeps what was added before the first VU attached and emits it on the first flush after', () => {
    const s = stats(undefined, undefined);
    s.add('due', 7);
    s.flush(); // no emitter yet: nothing to emit to, nothing lost
    const em = recorder();
    s.attach(em);
    s.flush();
    expect(em.counters()[COUNTERS.due]).toBe(7);
  });

  it('flushes on its own every second, and not after stopTimers()', () => {
    const s = stats(undefined, undefined);
    const em = recorder();
    s.attach(em);
    em.events.splice(0);
    s.add('expected', 6);
    jest.advanceTimersByTime(999);
    expect(em.events).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(em.events).toEqual([['counter', COUNTERS.expected, 6]]);
    s.add('expected', 2);
    s.stopTimers();
    jest.advanceTimersByTime(5000);
    expect(em.events).toEqual([['counter', COUNTERS.expected, 6]]);
  });

  it('puts its thread first: registers on the first attach, yields the core on busy flushes only', () => {
    const calls: string[] = [];
    const priority = {
      register: () => calls.push('register'),
      yieldOthers: () => (calls.push('yield'), []),
    } as unknown as ThreadPriority;
    const s = stats(undefined, undefined, priority);
    s.attach(recorder());
    s.attach(recorder());
    s.flush(); // no VU active yet
    s.activeVus = 1;
    s.flush();
    s.flush();
    s.activeVus = 0;
    s.flush();
    expect(calls).toEqual(['register', 'yield', 'yield']);
  });

  it('forwards histogram values to the emitter, and drops them before any VU attached', () => {
    const s = stats(undefined, undefined);
    s.histogram(HISTOGRAMS.connect, 12); // no emitter: must not throw
    const em = recorder();
    s.attach(em);
    em.events.splice(0);
    s.histogram(HISTOGRAMS.connect, 3.5);
    expect(em.events).toEqual([['histogram', HISTOGRAMS.connect, 3.5]]);
  });

  it('reports the worst event-loop stall of the second while VUs are active, and 0 without one', () => {
    const s = stats(undefined, undefined);
    const em = recorder();
    s.attach(em);
    s.activeVus = 2;
    em.events.splice(0);
    // The probe runs every 50 ms; a probe that finds 230 ms passed saw a 180 ms stall.
    clockMs = 230;
    jest.advanceTimersByTime(50);
    clockMs = 280; // on time
    jest.advanceTimersByTime(50);
    clockMs = 400; // 70 ms late: smaller than the worst, which is kept
    jest.advanceTimersByTime(50);
    s.flush();
    expect(em.events).toEqual([['histogram', HISTOGRAMS.loopStall, 180]]);
    // The next second starts from scratch; probes that run early (clock unchanged) report 0, not a negative stall.
    em.events.splice(0);
    jest.advanceTimersByTime(100);
    s.flush();
    expect(em.events).toEqual([['histogram', HISTOGRAMS.loopStall, 0]]);
  });

  it('probes no more once stopTimers() ran: a later stall is not reported', () => {
    const s = stats(undefined, undefined);
    const em = recorder();
    s.attach(em);
    s.activeVus = 1;
    s.stopTimers();
    em.events.splice(0);
    clockMs = 500; // a probe still running would see a 450 ms stall
    jest.advanceTimersByTime(1000);
    expect(em.events).toEqual([]); // nor does it flush on its own
    s.flush();
    expect(em.events).toEqual([['histogram', HISTOGRAMS.loopStall, 0]]);
  });

  it('emits no stall figure while no VU is active', () => {
    const s = stats(undefined, undefined);
    const em = recorder();
    s.attach(em);
    em.events.splice(0);
    clockMs = 500;
    jest.advanceTimersByTime(50);
    s.flush();
    expect(em.events).toEqual([]);
  });

  it('whenNoneActive releases every waiter when the last VU stops, not before', async () => {
    const s = stats(undefined, undefined);
    s.activeVus = 3;
    const released: string[] = [];
    // Two VUs drained and wait to close; the third is still draining.
    s.vuStopped();
    void s.whenNoneActive(60_000).then(() => released.push('a'));
    s.vuStopped();
    void s.whenNoneActive(60_000).then(() => released.push('b'));
    await Promise.resolve();
    expect(released).toEqual([]);
    expect(s.activeVus).toBe(1);
    s.vuStopped();
    await Promise.resolve();
    expect(released.sort()).toEqual(['a', 'b']);
    expect(s.activeVus).toBe(0);
    // Released waiters' timers are cleared: nothing else is pending.
    expect(jest.getTimerCount()).toBe(0);
  });

  it('whenNoneActive resolves at once with no active VU, and after maxWaitMs when one never stops', async () => {
    const s = stats(undefined, undefined);
    let early = false;
    await s.whenNoneActive(60_000).then(() => (early = true));
    expect(early).toBe(true);
    s.activeVus = 2;
    s.vuStopped();
    let late = false;
    void s.whenNoneActive(5000).then(() => (late = true));
    jest.advanceTimersByTime(4999);
    await Promise.resolve();
    expect(late).toBe(false);
    jest.advanceTimersByTime(1);
    await Promise.resolve();
    expect(late).toBe(true);
    expect(s.activeVus).toBe(1);
  });

  it("writes one progress line per busy flush with the interval histogram, and closes it into the run's", () => {
    const file = path.join(dir, 'progress.jsonl');
    const run = newHistogram();
    const intended = new IntervalLatency(run);
    const s = stats(intended, file);
    const em = recorder();
    s.attach(em);
    s.activeVus = 3;
    s.add('sent', 10);
    s.add('delivered', 20);
    s.add('lost', 1);
    s.noteSendLag(4.2);
    s.noteSendLag(12.6);
    s.noteSendLag(7);
    intended.record(1.5);
    intended.record(2.5);
    clockMs = 90;
    jest.advanceTimersByTime(50); // a 40 ms stall
    s.flush();
    const [line] = progress(file);
    expect(line).toEqual({
      t: 1_700_000_000_050,
      // pid as well: under --generators several processes write one progress file.
      thread: process.pid * 1000 + threadId,
      vus: 3,
      sent: 10,
      delivered: 20,
      lost: 1,
      sendLagMaxMs: 13,
      stallMaxMs: 40,
      latencyHdr: expect.any(String),
    });
    const h = decodeHistogram(line.latencyHdr as string);
    expect(h.totalCount).toBe(2);
    expect(h.maxValue).toBeGreaterThanOrEqual(2500);
    expect(intended.interval.totalCount).toBe(0);
    expect(run.totalCount).toBe(2);

    // Still busy, nothing new: a line with zeros and no histogram; the send lag was reset.
    s.flush();
    expect(progress(file)[1]).toEqual({
      t: 1_700_000_000_050,
      // pid as well: under --generators several processes write one progress file.
      thread: process.pid * 1000 + threadId,
      vus: 3,
      sent: 0,
      delivered: 0,
      lost: 0,
      sendLagMaxMs: 0,
      stallMaxMs: 0,
    });
    // An empty interval adds nothing: the run's histogram still holds each value once.
    expect(run.totalCount).toBe(2);
  });

  it('writes a line when idle only if frames were sent or delivered in the interval', () => {
    const file = path.join(dir, 'progress.jsonl');
    const s = stats(undefined, file);
    s.attach(recorder());
    s.flush();
    s.add('lost', 4); // losses alone, after the last VU: not progress
    s.flush();
    expect(progress(file)).toEqual([]);
    s.add('sent', 1);
    s.flush();
    s.add('delivered', 1);
    s.flush();
    expect(progress(file).map((l) => [l.vus, l.sent, l.delivered])).toEqual([
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it("without a progress file writes nothing, and still closes each interval into the run's histogram once", () => {
    const run = newHistogram();
    const intended = new IntervalLatency(run);
    intended.record(3);
    const saved = process.env.RELAY_PERF_PROGRESS_FILE;
    delete process.env.RELAY_PERF_PROGRESS_FILE;
    try {
      const s = stats(intended);
      s.attach(recorder());
      s.activeVus = 1;
      s.add('sent', 5);
      s.flush();
      expect([intended.interval.totalCount, run.totalCount]).toEqual([0, 1]);
      intended.record(4);
      s.flush();
      s.flush();
      expect([intended.interval.totalCount, run.totalCount]).toEqual([0, 2]);
    } finally {
      if (saved !== undefined) process.env.RELAY_PERF_PROGRESS_FILE = saved;
    }
  });

  it("closes the interval even before the first VU attached, so the run's histogram is never short", () => {
    const run = newHistogram();
    const intended = new IntervalLatency(run);
    intended.record(7);
    stats(intended, path.join(dir, 'never.jsonl')).flush();
    expect([intended.interval.totalCount, run.totalCount]).toEqual([0, 1]);
  });

  it('takes the progress file from RELAY_PERF_PROGRESS_FILE by default', () => {
    const file = path.join(dir, 'from-env.jsonl');
    const saved = process.env.RELAY_PERF_PROGRESS_FILE;
    process.env.RELAY_PERF_PROGRESS_FILE = file;
    try {
      const s = stats();
      s.attach(recorder());
      s.add('sent', 2);
      s.flush();
    } finally {
      if (saved === undefined) delete process.env.RELAY_PERF_PROGRESS_FILE;
      else process.env.RELAY_PERF_PROGRESS_FILE = saved;
    }
    expect(progress(file).map((l) => l.sent)).toEqual([2]);
  });

  it('survives a progress file it cannot write (progress is cosmetic) and still emits the counters', () => {
    const s = stats(undefined, path.join(dir, 'missing', 'dir', 'progress.jsonl'));
    const em = recorder();
    s.attach(em);
    em.events.splice(0);
    s.activeVus = 1;
    s.add('sent', 3);
    expect(() => s.flush()).not.toThrow();
    expect(em.events[0]).toEqual(['counter', COUNTERS.sent, 3]);
  });
});

describe('WorkerStats timers', () => {
  it('never keep the process alive (unref), and stopTimers() clears them', () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    const s = new WorkerStats(undefined, undefined);
    s.attach({ emit: () => undefined });
    expect(timeouts()).toBe(before);
    s.stopTimers();
    expect(timeouts()).toBe(before);
  });
});
