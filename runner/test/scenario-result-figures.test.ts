import { encodeHistogram, newHistogram, recordMs } from '../../processors/lib/latency';
import { COUNTERS } from '../../processors/lib/metric-names';
import type { ScenarioSpec } from '../catalog';
import type { ArtilleryReport, ScenarioPlan } from '../results';
import { buildScenarioResult, type BuildInput } from '../scenario-result';
import { artillery, checks } from './helpers/artillery-output';

const spec: ScenarioSpec = {
  name: 'throughput-100',
  family: 'throughput',
  file: 'throughput-100.yml',
  summary: '50 x 10',
  profiles: {},
};
const plan: ScenarioPlan = {
  endpoints: 50,
  connectionsPerEndpoint: 10,
  connections: 500,
  steps: [{ ratePerSecond: 100, seconds: 10 }],
  sendSeconds: 10,
  rampSeconds: 2,
  targetRatePerSec: 100,
};

function report(counts: Partial<Record<keyof typeof COUNTERS, number>>): ArtilleryReport {
  const counters: Record<string, number> = { 'vusers.created': 500, 'vusers.completed': 500 };
  for (const [k, v] of Object.entries(counts)) counters[COUNTERS[k as keyof typeof COUNTERS]] = v;
  return { aggregate: { counters, summaries: {} }, intermediate: [] };
}

const summary = (p95: number, p99: number) => ({
  count: 100,
  min: 1,
  mean: 2,
  p50: 2,
  p90: 4,
  p95,
  p99,
  p999: p99,
  max: 9,
});

const build = (over: Partial<BuildInput>) =>
  buildScenarioResult({
    spec,
    plan,
    report: report({ sent: 1000, due: 1000, expected: 9000, delivered: 9000 }),
    artillery: artillery(0, checks(['ok', 'ok', 'ok', 'ok'])),
    expectedGates: 4,
    durationSec: 21.4,
    relaySamples: [],
    generatorSamples: [],
    seconds: [],
    latency: { intended: summary(5, 8), sent: summary(4, 7), sendLag: summary(1, 1), threads: 1 },
    intervals: [],
    ...over,
  });

describe('buildScenarioResult', () => {
  it('carries the verdict and the figures of the report', () => {
    const r = build({});
    expect(r).toMatchObject({
      name: 'throughput-100',
      status: 'passed',
      exitCode: 0,
      durationSec: 21,
      sentPerSec: 100,
      deliveredPerSec: 900,
      sendRatio: 1,
      lossPct: 0,
      latency: { p95: 5, p99: 8, count: 100 },
      vusers: { created: 500, completed: 500, failed: 0 },
    });
  });

  it('loss percentage is lost over owed deliveries, and unknown (null) when none were owed', () => {
    const lossy = build({
      report: report({ sent: 1000, due: 1000, expected: 8000, delivered: 7998, lost: 2 }),
    });
    expect(lossy.lossPct).toBeCloseTo(0.025, 10);
    expect(lossy.frames).toMatchObject({ expected: 8000, lost: 2, delivered: 7998 });
    expect(build({ report: report({ sent: 0, due: 0 }) }).lossPct).toBeNull();
  });

  it('a timed-out scenario without a report is an error with empty figures, not a crash', () => {
    const r = build({ report: null, artillery: artillery(null, '', true), latency: null });
    expect(r.status).toBe('error');
    expect(r.error).toMatch(/timed out/);
    expect(r.exitCode).toBeNull();
    expect(r.lossPct).toBeNull();
    expect(r.latency).toBeNull();
    expect(r.series.t).toEqual([]);
  });

  it("warns when the generator fell behind, next to the verdict's own warnings", () => {
    const r = build({
      spec: { ...spec, informational: true },
      report: report({ sent: 900, due: 1000, expected: 8100, delivered: 8100 }),
      artillery: artillery(2, checks(['ok', 'ok', 'ok', 'ok'])),
    });
    expect(r.status).toBe('passed');
    expect(r.warnings).toEqual([
      'generator fell behind its schedule: sent 90.0% of the frames due',
      'Artillery exited with 2 (informational: not a failure)',
    ]);
  });

  it('takes latency from the exact histograms: intended time as the headline, actual send beside it', () => {
    const r = build({});
    expect(r.latency).toMatchObject({ p95: 5, p99: 8, count: 100 });
    expect(r.latencyFromSend).toMatchObject({ p95: 4, p99: 7 });
    expect(r.sendLagMs).toMatchObject({ p95: 1 });
  });

  it('warns when the intended-time p99 exceeds the actual-send p99 by more than 50 ms (frames left late)', () => {
    const late = build({
      latency: { intended: summary(300, 700), sent: summary(1, 1), sendLag: summary(600, 690), threads: 1 },
    });
    expect(late.warnings.join('\n')).toMatch(/exceeds p99 from the actual send by 699 ms/);
    const onTime = build({
      latency: { intended: summary(5, 51), sent: summary(4, 1), sendLag: summary(1, 1), threads: 1 },
    });
    expect(onTime.warnings.join('\n')).not.toMatch(/actual send/);
  });

  it("charts exact per-bucket percentiles merged from every thread's interval histograms", () => {
    const period = 1_700_000_000_000;
    const interval = (t: number, values: number[]) => {
      const h = newHistogram();
      for (const v of values) recordMs(h, v);
      return { t, hdr: encodeHistogram(h) };
    };
    const withBuckets: ArtilleryReport = {
      aggregate: report({ sent: 1000, due: 1000 }).aggregate,
      intermediate: [
        { period, counters: {} },
        { period: period + 10_000, counters: {} },
        { period: period + 20_000, counters: {} },
      ],
    };
    const r = build({
      report: withBuckets,
      intervals: [
        // bucket 1: two threads, 100 values in all; p95 is the 95th smallest
        interval(
          period + 1000,
          Array.from({ length: 50 }, (_, i) => i + 1),
        ),
        interval(
          period + 1001,
          Array.from({ length: 50 }, (_, i) => i + 51),
        ),
        // bucket 2: one slow second
        interval(period + 15_000, [400]),
      ],
    });
    expect(r.series.p50[0]).toBeCloseTo(50, 1);
    expect(r.series.p95[0]).toBeCloseTo(95, 1);
    expect(r.series.p99[0]).toBeCloseTo(99, 1);
    expect(r.series.p95[1]).toBeCloseTo(400, 0);
    expect(r.series.p95[2]).toBeNull();
  });

  it('generator samples as one flat list (one process) or one list per process give the same figures', () => {
    const samples = [
      { t: 1_000, cpuPct: 40, rssMb: 100 },
      { t: 2_000, cpuPct: 60, rssMb: 110 },
    ];
    const flat = build({ generatorSamples: samples });
    const nested = build({ generatorSamples: [samples] });
    expect(flat.generator).toEqual({
      cpuPeakPct: 60,
      cpuMeanPct: 50,
      rssPeakMb: 110,
      rssMeanMb: 105,
      samples: 2,
    });
    expect(nested.generator).toEqual(flat.generator);
    expect(flat.generators).toBe(1);
    expect(nested.resources.generatorCpu).toEqual([40, 60]);
    expect(flat.resources).toEqual(nested.resources);
    // two processes: the check sees the busier one, the series their sum
    const two = build({ generatorSamples: [samples, [{ t: 1_500, cpuPct: 90, rssMb: 50 }]] });
    expect(two.generators).toBe(2);
    expect(two.generator?.cpuMeanPct).toBe(90);
    expect(two.resources.generatorCpu).toEqual([130, 60]);
    // nothing sampled
    expect(build({ generatorSamples: [] }).generator).toBeNull();
  });
});
