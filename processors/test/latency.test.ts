/**
 * Exact latency: what a generator stall does to each of the two latencies, and
 * that merging per-thread HDR histograms loses nothing.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { decodeFrame, encodeFrame, makePadding } from '../lib/frame';
import {
  decodeHistogram,
  encodeHistogram,
  IntervalLatency,
  mergeLatencyDir,
  newHistogram,
  newLatencySet,
  recordMs,
  summarize,
  writeLatencyFile,
} from '../lib/latency';
import { SendSchedule } from '../lib/schedule';

/** The processor's grace for overdue frames (processors/relay.ts). */
const GRACE_MS = 250;
const RELAY_MS = 1;

/**
 * Replays the processor's send loop on a virtual clock: one connection at `rate` msg/s
 * for `seconds`, ticking every ms, except that the generator is frozen for `stallMs`
 * from `stallAt` (a GC pause, a busy event loop). Every frame goes through the real
 * frame format and reaches the receiver RELAY_MS after it was sent.
 */
function replay(rate: number, seconds: number, stallAt: number, stallMs: number) {
  const start = 1_000_000;
  const schedule = new SendSchedule([{ ratePerSecond: rate, seconds }], start, 1, 0);
  const set = newLatencySet();
  const padding = makePadding(128);
  let k = 0;
  let sent = 0;
  for (let now = start; now <= schedule.endMs; now += 1) {
    if (now > start + stallAt && now < start + stallAt + stallMs) continue;
    k = schedule.takeDue(k, now, GRACE_MS, (seq, dueAtMs) => {
      sent++;
      const wire = encodeFrame({ endpointSlot: 0, senderId: 1, seq, dueAtMs, sentAtMs: now }, padding);
      const frame = decodeFrame(wire)!;
      const arrivedAt = now + RELAY_MS;
      recordMs(set.intended, arrivedAt - frame.dueAtMs);
      recordMs(set.sent, arrivedAt - frame.sentAtMs);
      recordMs(set.sendLag, frame.sentAtMs - frame.dueAtMs);
    });
  }
  return {
    sent,
    due: schedule.totalDue(),
    intended: summarize(set.intended)!,
    fromSend: summarize(set.sent)!,
  };
}

describe('latency from the intended send time', () => {
  it('shows a 1 s generator stall at 500 msg/s that the latency from the actual send hides', () => {
    const r = replay(500, 10, 4000, 1000);
    // Inside the window the backlog is sent in a burst: nothing is lost, every frame carries its own due time.
    expect(r.sent).toBe(r.due);
    expect(r.sent).toBe(5000);
    // 500 frames (10% of the run) were due during the stall and left up to 1 s late.
    expect(r.intended.p95).toBeGreaterThan(450);
    expect(r.intended.p99).toBeGreaterThan(850);
    expect(r.intended.max).toBeGreaterThan(990);
    // Stamped at the actual send, the same frames look as fast as the relay: 1 ms.
    expect(r.fromSend.p99).toBeCloseTo(RELAY_MS, 2);
    expect(r.fromSend.max).toBeCloseTo(RELAY_MS, 2);
  });

  it('scales with the stall (3 s) and equals the relay time without one', () => {
    const long = replay(500, 10, 4000, 3000);
    expect(long.intended.p99).toBeGreaterThan(2850);
    expect(long.fromSend.p99).toBeCloseTo(RELAY_MS, 2);
    // The 1 ms tick itself delays a frame by under 1 ms: that much stays in the intended figure.
    const none = replay(500, 10, 0, 0);
    expect(none.intended.max).toBeLessThanOrEqual(RELAY_MS + 1.001);
    expect(none.intended.p50).toBeGreaterThanOrEqual(RELAY_MS);
  });

  it('drops (does not burst) frames overdue by more than the grace once the window has closed', () => {
    // Stalled across the end of the plan: frames due in the last 2 s are past the grace when it wakes.
    const r = replay(500, 10, 8000, 3000);
    expect(r.sent).toBeLessThan(r.due);
    expect(r.sent).toBe(4000);
  });
});

describe('IntervalLatency', () => {
  it("closing intervals adds each value to the run's histogram exactly once: the same histogram as recording every value into it", () => {
    const run = newHistogram();
    const intended = new IntervalLatency(run);
    const direct = newHistogram();
    const intervals: number[] = [];
    for (let second = 0; second < 7; second++) {
      // Differently shaped seconds, one of them empty.
      const n = second === 3 ? 0 : 500 * (second + 1);
      for (let i = 0; i < n; i++) {
        const ms = ((i * 7919) % 997) * 0.05 * (second + 1);
        intended.record(ms);
        recordMs(direct, ms);
      }
      const hdr = intended.close(true);
      intervals.push(hdr === undefined ? 0 : decodeHistogram(hdr).totalCount);
      expect(intended.interval.totalCount).toBe(0);
    }
    expect(intervals).toEqual([500, 1000, 1500, 0, 2500, 3000, 3500]);
    expect(run.totalCount).toBe(direct.totalCount);
    expect(encodeHistogram(run)).toBe(encodeHistogram(direct));
  });

  it('encodes only when asked, and leaves the run alone for an empty interval', () => {
    const run = newHistogram();
    const intended = new IntervalLatency(run);
    expect(intended.close(true)).toBeUndefined();
    expect(run.totalCount).toBe(0);
    intended.record(2.5);
    expect(run.totalCount).toBe(0);
    expect(intended.close(false)).toBeUndefined();
    expect(run.totalCount).toBe(1);
    intended.record(4);
    const hdr = intended.close(true)!;
    // Within HDR's 0.1 %: which end of a bucket it reports as max differs after add().
    const one = summarize(decodeHistogram(hdr))!;
    expect([one.count, one.min]).toEqual([1, 4]);
    const both = summarize(run)!;
    expect([both.count, both.min]).toEqual([2, 2.5]);
    expect(Math.abs(both.max - 4)).toBeLessThanOrEqual(0.004);
  });
});

describe('HDR histograms', () => {
  it('record microseconds: values within 0.1%, negatives (clock skew) clamped to 0', () => {
    const h = newHistogram();
    for (const v of [0.123, 12.345, 1234.5, -0.2]) recordMs(h, v);
    const s = summarize(h)!;
    expect(s.count).toBe(4);
    expect(s.min).toBe(0);
    expect(s.max).toBeGreaterThanOrEqual(1234.5);
    expect(s.max).toBeLessThan(1234.5 * 1.001);
    expect(s.p50).toBeCloseTo(0.123, 3);
    expect(summarize(newHistogram())).toBeNull();
  });

  it('merge exactly across worker threads: the merged histogram is the one that saw every value', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'latency-merge-'));
    const threads = 3;
    const perThread = 20_000;
    // Each thread gets a differently shaped distribution, so no thread's percentiles equal the whole's.
    const valueOf = (thread: number, i: number) => (thread + 1) * ((i * 7919) % 1000) * 0.37 + thread * 50;
    const lib = path.resolve(__dirname, '..', 'lib', 'latency.ts');
    const code = `
      require('tsx/cjs');
      const { workerData } = require('node:worker_threads');
      const l = require(workerData.lib);
      const set = l.newLatencySet();
      const valueOf = ${valueOf.toString()};
      for (let i = 0; i < workerData.n; i++) {
        l.recordMs(set.intended, valueOf(workerData.thread, i));
        l.recordMs(set.sent, valueOf(workerData.thread, i) / 2);
        l.recordMs(set.sendLag, workerData.thread);
      }
      l.writeLatencyFile(workerData.dir, 'thread-' + workerData.thread, set);
    `;
    await Promise.all(
      Array.from(
        { length: threads },
        (_, thread) =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { lib, dir, thread, n: perThread } });
            w.once('error', reject);
            w.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`worker exited ${c}`))));
          }),
      ),
    );
    expect(readdirSync(dir).sort()).toEqual(['thread-0.hdr.json', 'thread-1.hdr.json', 'thread-2.hdr.json']);

    const merged = mergeLatencyDir(dir)!;
    expect(merged.files).toBe(threads);
    const all: number[] = [];
    const single = newLatencySet();
    for (let t = 0; t < threads; t++)
      for (let i = 0; i < perThread; i++) {
        all.push(valueOf(t, i));
        recordMs(single.intended, valueOf(t, i));
      }
    expect(merged.set.intended.totalCount).toBe(threads * perThread);
    expect(merged.set.sendLag.totalCount).toBe(threads * perThread);
    // Identical to one histogram fed every value, at every percentile.
    for (const p of [0, 1, 10, 50, 90, 95, 99, 99.9, 99.99, 100])
      expect(merged.set.intended.getValueAtPercentile(p)).toBe(single.intended.getValueAtPercentile(p));
    // And within HDR's 0.1% of the true order statistic of all 60,000 values.
    all.sort((a, b) => a - b);
    const s = summarize(merged.set.intended)!;
    for (const [p, got] of [
      [50, s.p50],
      [95, s.p95],
      [99, s.p99],
    ] as const) {
      const truth = all[Math.ceil((p / 100) * all.length) - 1];
      expect(Math.abs(got - truth)).toBeLessThanOrEqual(truth * 0.001 + 0.001);
    }
  });

  it('merges the cluster split (local / cross) per kind, and files written before it as empty splits', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'latency-split-'));
    const a = newLatencySet();
    for (const v of [1, 2, 3]) recordMs(a.local, v);
    recordMs(a.cross, 40);
    writeLatencyFile(dir, 'a', a);
    // A file from before the split: only the three original kinds.
    const old = newHistogram();
    recordMs(old, 5);
    writeFileSync(
      path.join(dir, 'old.hdr.json'),
      JSON.stringify({
        intended: encodeHistogram(old),
        sent: encodeHistogram(old),
        sendLag: encodeHistogram(old),
      }),
    );
    const merged = mergeLatencyDir(dir)!;
    expect(merged.files).toBe(2);
    expect(merged.set.local.totalCount).toBe(3);
    expect(merged.set.cross.totalCount).toBe(1);
    expect(summarize(merged.set.cross)!.max).toBeCloseTo(40, 1);
    expect(merged.set.intended.totalCount).toBe(1);
  });

  it('refuses to merge a corrupt file instead of reporting a subset as exact', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'latency-bad-'));
    writeLatencyFile(dir, 'good', newLatencySet());
    writeFileSync(path.join(dir, 'bad.hdr.json'), JSON.stringify({ intended: 'x' }));
    expect(() => mergeLatencyDir(dir)).toThrow();
    expect(mergeLatencyDir(path.join(dir, 'missing'))).toBeNull();
  });
});
