/**
 * runner/results.ts: the per-bucket and per-second series the HTML report charts, and
 * Artillery's histogram summaries turned into latency figures. The report tests render
 * fixtures these functions never built, so their arithmetic is pinned here.
 */
import { COUNTERS } from '../../processors/lib/metric-names';
import type { ProcSample } from '../proc-sampler';
import type { SecondTotals } from '../progress';
import { latencyStats, resourceSeries, seriesFrom, type ArtilleryReport } from '../results';

const T0 = 1_764_600_000_000; // an epoch ms, as Artillery's period keys are

const period = (startMs: number, sent: number, delivered: number) => ({
  period: String(startMs),
  counters: { [COUNTERS.sent]: sent, [COUNTERS.delivered]: delivered },
});

describe('seriesFrom', () => {
  it('orders buckets by period, times them from the first, and gives per-second rates to 0.1', () => {
    // Artillery lists intermediate periods in the order they were flushed, not always by time.
    const report: ArtilleryReport = {
      aggregate: {},
      intermediate: [period(T0 + 20_000, 1001, 9009), period(T0, 333, 2997), period(T0 + 10_000, 1000, 9000)],
    };
    const original = [...report.intermediate];
    const seen: number[] = [];
    const s = seriesFrom(report, (start) => {
      seen.push(start);
      return start === T0 + 10_000 ? { p50: 1.5, p95: 4, p99: 9 } : null;
    });
    expect(s).toEqual({
      start: T0,
      t: [0, 10, 20],
      sentPerSec: [33.3, 100, 100.1],
      deliveredPerSec: [299.7, 900, 900.9],
      p50: [null, 1.5, null],
      p95: [null, 4, null],
      p99: [null, 9, null],
    });
    // each bucket's latency is asked for with the bucket's own start, in time order
    expect(seen).toEqual([T0, T0 + 10_000, T0 + 20_000]);
    // the report itself is left as it was
    expect(report.intermediate).toEqual(original);
  });

  it('an empty report gives empty series starting at 0, and no latency by default', () => {
    expect(seriesFrom({ aggregate: {}, intermediate: [] })).toEqual({
      start: 0,
      t: [],
      sentPerSec: [],
      deliveredPerSec: [],
      p50: [],
      p95: [],
      p99: [],
    });
    expect(seriesFrom({ aggregate: {}, intermediate: [period(T0, 10, 90)] }).p95).toEqual([null]);
    // a report without the list at all (Artillery wrote only the aggregate)
    expect(seriesFrom({ aggregate: {} } as ArtilleryReport).t).toEqual([]);
  });
});

describe('resourceSeries', () => {
  const proc = (t: number, cpuPct: number, rssMb: number): ProcSample => ({ t, cpuPct, rssMb });
  const second = (t: number, sent: number, stallMaxMs: number): SecondTotals => ({
    t,
    vus: 10,
    sent,
    delivered: sent * 9,
    stallMaxMs,
    sendLagMaxMs: 0,
  });

  it('lines relay, generator and progress up by whole second, over the union of sampled seconds', () => {
    const relay = [proc(T0 + 2_400, 30, 80), proc(T0 + 400, 10, 70)];
    const generator = [proc(T0 + 1_900, 55, 120), proc(T0 + 2_050, 60, 121)];
    const seconds = [second(T0 + 1_000, 100, 3), second(T0 + 2_999, 101, 4), second(T0 + 9_000, 7, 7)];
    expect(resourceSeries(relay, generator, seconds)).toEqual({
      start: T0,
      t: [0, 1, 2],
      relayCpu: [10, null, 30],
      relayRssMb: [70, null, 80],
      generatorCpu: [null, 55, 60],
      generatorStallMs: [null, 3, 4],
      sentPerSec: [null, 100, 101],
    });
  });

  it('nothing sampled: empty series from 0', () => {
    expect(resourceSeries([], [], [second(T0, 1, 1)])).toEqual({
      start: 0,
      t: [],
      relayCpu: [],
      relayRssMb: [],
      generatorCpu: [],
      generatorStallMs: [],
      sentPerSec: [],
    });
  });
});

describe('latencyStats', () => {
  const s = { count: 4, min: 1, max: 9, mean: 3, p50: 2, p95: 8, p99: 9 };
  it("copies Artillery's summary; null for a missing or empty one", () => {
    expect(latencyStats(s)).toEqual({ count: 4, min: 1, p50: 2, p95: 8, p99: 9, max: 9, mean: 3 });
    expect(latencyStats({ ...s, count: 0 })).toBeNull();
    expect(latencyStats(undefined)).toBeNull();
  });
});
