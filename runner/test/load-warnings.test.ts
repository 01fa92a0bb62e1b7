/**
 * loadWarnings: each sign that the numbers show the generator's limit, at its threshold
 * and either side of it, with the exact text the report prints.
 */
import { COUNTERS } from '../../processors/lib/metric-names';
import type { ResourceSummary } from '../proc-sampler';
import { frameCounts, type FrameCounts, type LatencyStats } from '../results';
import { loadWarnings } from '../scenario-result';

const frames = (counts: Partial<Record<keyof typeof COUNTERS, number>>): FrameCounts => {
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) counters[COUNTERS[k as keyof typeof COUNTERS]] = v;
  return frameCounts(counters);
};
/** On schedule, nothing extra: no warning from the frame counts. */
const healthy = frames({ sent: 1000, due: 1000, expected: 2000, delivered: 2000 });

const cpu = (cpuMeanPct: number): ResourceSummary => ({
  cpuPeakPct: 100,
  cpuMeanPct,
  rssPeakMb: 80,
  rssMeanMb: 70,
  samples: 10,
});
const stats = (p99: number, max = p99): LatencyStats => ({
  count: 10,
  min: 0,
  p50: 1,
  p95: p99,
  p99,
  max,
  mean: 1,
});

describe('loadWarnings', () => {
  it('says nothing for a healthy run, or without any sampler figures', () => {
    expect(loadWarnings(healthy, cpu(50), stats(10, 20), stats(5))).toEqual([]);
    expect(loadWarnings(healthy, null, null, null, null)).toEqual([]);
  });

  it('warns from a generator CPU mean of 90 % of a core', () => {
    expect(loadWarnings(healthy, cpu(89.9), null, null)).toEqual([]);
    expect(loadWarnings(healthy, cpu(90), null, null)).toEqual([
      "generator CPU averaged 90% of a core: numbers show the load generator's limit, not the relay's",
    ]);
  });

  it('warns from a 200 ms generator event-loop stall, rounded to the ms', () => {
    expect(loadWarnings(healthy, null, stats(1, 199.4), null)).toEqual([]);
    expect(loadWarnings(healthy, null, stats(1, 200), null)).toEqual([
      'generator event loop stalled up to 200 ms (tail latency includes generator stalls)',
    ]);
    expect(loadWarnings(healthy, null, stats(1, 312.6), null)).toEqual([
      'generator event loop stalled up to 313 ms (tail latency includes generator stalls)',
    ]);
  });

  it('warns when fewer than 95 % of the frames due were sent; nothing due is no ratio at all', () => {
    expect(loadWarnings(frames({ sent: 95, due: 100 }), null, null, null)).toEqual([]);
    expect(loadWarnings(frames({ sent: 949, due: 1000 }), null, null, null)).toEqual([
      'generator fell behind its schedule: sent 94.9% of the frames due',
    ]);
    expect(loadWarnings(frames({ sent: 0, due: 0 }), null, null, null)).toEqual([]);
  });

  it('warns when the send lag p99 is over 50 ms', () => {
    expect(loadWarnings(healthy, null, null, stats(50))).toEqual([]);
    expect(loadWarnings(healthy, null, null, stats(50.5))).toEqual([
      'frames left up to 50.5 ms late (send lag p99): the generator could not keep the schedule',
    ]);
  });

  it('warns when connections joined after the window began', () => {
    const late = (n: number) => loadWarnings(frames({ sent: 10, due: 10, lateJoins: n }), null, null, null);
    expect(late(0)).toEqual([]);
    expect(late(1)).toEqual([
      '1 connection opened after the send window began: until then their endpoints had fewer peers than planned (raise settleMs for this machine)',
    ]);
    expect(late(7)[0]).toMatch(/^7 connections opened after/);
  });

  it('warns on any frame not owed though sent while its receiver counted, never on uncounted ones', () => {
    const extra = (n: number, delivered: number, uncounted = 0) =>
      loadWarnings(frames({ sent: 10, due: 10, extra: n, delivered, uncounted }), null, null, null);
    expect(extra(0, 1000)).toEqual([]);
    expect(extra(0, 1000, 500)).toEqual([]); // late joiners and churn: expected
    expect(extra(1, 1000)).toEqual([
      '1 frame arrived that was not owed though sent while its receiver was counting: peers may be split across generator workers (delivery accounting is not exact)',
    ]);
    expect(extra(2, 1000)[0]).toMatch(
      /^2 frames arrived that were not owed though sent while their receiver/,
    );
    // nothing delivered at all: the extra frames are not the story (loss gates say it)
    expect(extra(5, 0)).toEqual([]);
  });

  it("warns from 5 % of the machine's CPU time stolen by its host; unknown steal says nothing", () => {
    const steal = (pct: number | null) => loadWarnings(healthy, null, null, null, null, pct);
    expect(steal(null)).toEqual([]);
    expect(steal(0)).toEqual([]);
    expect(steal(4.9)).toEqual([]);
    expect(steal(5)).toEqual([
      "the machine's host took 5% of its CPU time during this scenario (steal): the figures include the host's contention",
    ]);
    expect(steal(23.6)[0]).toMatch(/^the machine's host took 23.6% of its CPU time/);
  });

  it('lists every warning that applies, in a fixed order', () => {
    const w = loadWarnings(
      frames({ sent: 50, due: 100, extra: 30, delivered: 100 }),
      cpu(99),
      stats(1, 250),
      stats(80),
      null,
      12,
    );
    expect(w.map((s) => s.split(' ').slice(0, 3).join(' '))).toEqual([
      'generator CPU averaged',
      'generator event loop',
      'generator fell behind',
      'frames left up',
      "the machine's host",
      '30 frames arrived',
    ]);
  });
});
