/**
 * Turns one scenario's Artillery JSON, resource samples and gate verdicts into
 * the numbers the reports print. Delivery latency percentiles come from the
 * generator's exact HDR histograms (runner/latency-figures.ts); other
 * percentiles (connect time, loop stalls) are Artillery's own summaries.
 */
import { COUNTERS } from '../processors/lib/metric-names';
import type { RateStep } from '../processors/lib/schedule';
import type { GateResult } from './gates';
import type { ProcSample, ResourceSummary } from './proc-sampler';
import type { SecondTotals } from './progress';
import type { MemoryTrend } from './memory-trend';
import type { RelayFigures } from './relay-metrics';

interface Summary {
  min: number;
  max: number;
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

interface ArtilleryPeriod {
  period?: string | number;
  counters?: Record<string, number>;
  summaries?: Record<string, Summary>;
}

export interface ArtilleryReport {
  aggregate: ArtilleryPeriod;
  intermediate: ArtilleryPeriod[];
}

export interface ScenarioPlan {
  endpoints: number;
  connectionsPerEndpoint: number;
  connections: number;
  steps: RateStep[];
  sendSeconds: number;
  rampSeconds: number;
  /** mean aggregate msg/s the plan asks for */
  targetRatePerSec: number;
}

export type FrameCounts = Record<keyof typeof COUNTERS, number>;

export interface LatencyStats {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface Series {
  /** epoch ms of the first bucket, to line buckets up with resource samples */
  start: number;
  /** seconds since the first bucket */
  t: number[];
  sentPerSec: number[];
  deliveredPerSec: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
}

export interface ResourceSeries {
  /** epoch ms of the first sample */
  start: number;
  t: number[];
  relayCpu: (number | null)[];
  relayRssMb: (number | null)[];
  generatorCpu: (number | null)[];
  generatorStallMs: (number | null)[];
  /** frames sent in that second (all generator threads) */
  sentPerSec?: (number | null)[];
}

export interface ScenarioResult {
  name: string;
  family: string;
  summary: string;
  informational: boolean;
  plan: ScenarioPlan;
  /** 'invalid': the generator fell behind its plan (see generator-health.ts), so neither pass nor fail */
  status: 'passed' | 'failed' | 'error' | 'invalid';
  error?: string;
  /** why the generator check found the scenario INVALID; empty when it kept up, absent in older runs */
  invalidReasons?: string[];
  exitCode: number | null;
  durationSec: number;
  vusers: { created: number; completed: number; failed: number };
  peakOpenConnections: number;
  /** latency from the intended send time (the gated figure), exact over every delivery */
  latency: LatencyStats | null;
  /** latency from the actual send (relay + network, blind to generator stalls), exact */
  latencyFromSend: LatencyStats | null;
  connectMs: LatencyStats | null;
  sendLagMs: LatencyStats | null;
  frames: FrameCounts;
  sentPerSec: number;
  deliveredPerSec: number;
  sendRatio: number | null;
  lossPct: number | null;
  relay: ResourceSummary | null;
  /** the generator's CPU/RSS; with several generator processes, the busiest one's */
  generator: ResourceSummary | null;
  /** Artillery processes that generated the load (--generators); absent in older runs: 1 */
  generators?: number;
  generatorStallMaxMs: number | null;
  /**
   * The machine's steal time over the scenario: % of all its CPU time that the hypervisor gave
   * to other guests (/proc/stat, runner/proc-sampler.ts stealPercent). Null when unknown; absent
   * in runs recorded before 2026-12-02.
   */
  machineStealPct?: number | null;
  gates: GateResult[];
  warnings: string[];
  series: Series;
  resources: ResourceSeries;
  /** What the relay's /metrics says happened during the scenario; null when it could not be read. */
  relayMetrics?: RelayFigures | null;
  /** --cluster N: the latency split and each relay process's resources; absent without --cluster */
  cluster?: ClusterFigures;
  /** RSS over long send windows (derived from `resources` when a run is loaded); null when too short. */
  memory?: MemoryTrend | null;
}

/**
 * A scenario against several relay processes (`--cluster`). `relay` (above) is then their sum
 * per sampling tick; relayMetrics are the first process's /metrics only.
 */
export interface ClusterFigures {
  processes: number;
  /** latency from the intended send time of deliveries whose sender was on the receiver's process, exact */
  local: LatencyStats | null;
  /** the same for deliveries that came over Redis from another process (null with one process) */
  cross: LatencyStats | null;
  /** CPU (% of one core) and RSS of each relay process, in start order; null where no sample was taken */
  perProcess: (ResourceSummary | null)[];
}

/** Artillery's summary of one histogram, or null when it holds no values. */
export function latencyStats(s: Summary | undefined): LatencyStats | null {
  if (!s || !s.count) return null;
  return { count: s.count, min: s.min, p50: s.p50, p95: s.p95, p99: s.p99, max: s.max, mean: s.mean };
}

export function frameCounts(counters: Record<string, number> | undefined): FrameCounts {
  const c = counters ?? {};
  const out = {} as FrameCounts;
  for (const [key, name] of Object.entries(COUNTERS) as [keyof typeof COUNTERS, string][])
    out[key] = c[name] ?? 0;
  return out;
}

const BUCKET_SECONDS = 10;

/** Per-bucket series; `latencyAt(periodStartMs)` gives the bucket's latency percentiles (null: none recorded). */
export function seriesFrom(
  report: ArtilleryReport,
  latencyAt: (periodStartMs: number) => Pick<LatencyStats, 'p50' | 'p95' | 'p99'> | null = () => null,
): Series {
  const buckets = [...(report.intermediate ?? [])].sort((a, b) => Number(a.period) - Number(b.period));
  const t0 = buckets.length > 0 ? Number(buckets[0].period) : 0;
  const series: Series = { start: t0, t: [], sentPerSec: [], deliveredPerSec: [], p50: [], p95: [], p99: [] };
  for (const b of buckets) {
    const counts = frameCounts(b.counters);
    const lat = latencyAt(Number(b.period));
    series.t.push(Math.round((Number(b.period) - t0) / 1000));
    series.sentPerSec.push(Math.round((counts.sent / BUCKET_SECONDS) * 10) / 10);
    series.deliveredPerSec.push(Math.round((counts.delivered / BUCKET_SECONDS) * 10) / 10);
    series.p50.push(lat ? lat.p50 : null);
    series.p95.push(lat ? lat.p95 : null);
    series.p99.push(lat ? lat.p99 : null);
  }
  return series;
}

export function resourceSeries(
  relay: ProcSample[],
  generator: ProcSample[],
  seconds: SecondTotals[],
): ResourceSeries {
  const sec = (t: number) => Math.floor(t / 1000) * 1000;
  const index = <T extends { t: number }>(xs: T[]) => new Map(xs.map((x) => [sec(x.t), x] as const));
  const relayBy = index(relay);
  const genBy = index(generator);
  const progressBy = index(seconds);
  const keys = [...new Set([...relayBy.keys(), ...genBy.keys()])].sort((a, b) => a - b);
  const t0 = keys[0] ?? 0;
  return {
    start: t0,
    t: keys.map((k) => (k - t0) / 1000),
    relayCpu: keys.map((k) => relayBy.get(k)?.cpuPct ?? null),
    relayRssMb: keys.map((k) => relayBy.get(k)?.rssMb ?? null),
    generatorCpu: keys.map((k) => genBy.get(k)?.cpuPct ?? null),
    generatorStallMs: keys.map((k) => progressBy.get(k)?.stallMaxMs ?? null),
    sentPerSec: keys.map((k) => progressBy.get(k)?.sent ?? null),
  };
}
