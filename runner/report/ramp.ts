/** Throughput-ramp figures the reports share: per-bucket rows and where latency broke the gate. */
import { LATENCY_P95_GATE_KEY } from '../gates';
import type { ScenarioResult } from '../results';
import type { RunFile } from './load';

/** Per 10 s bucket rows for ramp-style tables, with the relay CPU averaged over the same seconds. */
export function bucketRows(s: ScenarioResult): {
  t: number;
  sentPerSec: number;
  deliveredPerSec: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  relayCpu: number | null;
  relayCpuPeak: number | null;
  generatorCpu: number | null;
  stallMs: number | null;
  /** highest 1 s send rate inside the bucket: the ramp step reached, where a bucket straddles two */
  sentPeakPerSec: number | null;
}[] {
  const r = s.resources;
  const avg = (xs: (number | null)[], from: number, to: number, agg: 'mean' | 'max') => {
    const vals = xs
      .filter((_, i) => {
        const abs = r.start + r.t[i] * 1000;
        return abs >= from && abs < to;
      })
      .filter((x): x is number => x !== null);
    if (vals.length === 0) return null;
    return agg === 'max'
      ? Math.max(...vals)
      : Math.round((vals.reduce((a, b) => a + b, 0) / vals.length) * 10) / 10;
  };
  return s.series.t.map((t, i) => {
    const from = s.series.start + t * 1000;
    const to = from + 10_000;
    return {
      t,
      sentPerSec: s.series.sentPerSec[i],
      deliveredPerSec: s.series.deliveredPerSec[i],
      p50: s.series.p50[i],
      p95: s.series.p95[i],
      p99: s.series.p99[i],
      relayCpu: avg(r.relayCpu, from, to, 'mean'),
      generatorCpu: avg(r.generatorCpu, from, to, 'mean'),
      stallMs: avg(r.generatorStallMs, from, to, 'max'),
      relayCpuPeak: avg(r.relayCpu, from, to, 'max'),
      sentPeakPerSec: avg(r.sentPerSec ?? [], from, to, 'max'),
    };
  });
}

/**
 * The first 10 s bucket of a ramp whose p95 broke the latency gate, and which
 * process was at its limit then. Derived from the same numbers the table shows.
 */
export function breakingPoint(
  s: ScenarioResult,
  p95LimitMs: number,
): {
  rate: number;
  p95: number;
  t: number;
  relayCpuPeak: number | null;
  generatorCpu: number | null;
  limit: string;
} | null {
  const rows = bucketRows(s);
  const hit = rows.find((r) => r.p95 !== null && r.p95 >= p95LimitMs && r.sentPerSec > 0);
  if (!hit) return null;
  const relayBound = hit.relayCpuPeak !== null && hit.relayCpuPeak >= 85;
  const generatorBound = (hit.generatorCpu !== null && hit.generatorCpu >= 90) || (hit.stallMs ?? 0) >= 200;
  const limit = generatorBound
    ? 'the load generator was at its limit, so this is a lower bound for the relay'
    : relayBound
      ? 'the relay process was CPU-bound (Node runs its JavaScript on one core)'
      : 'neither process was CPU-bound; the time went elsewhere (database, I/O)';
  return {
    rate: hit.sentPeakPerSec ?? hit.sentPerSec,
    p95: hit.p95 as number,
    t: hit.t,
    relayCpuPeak: hit.relayCpuPeak,
    generatorCpu: hit.generatorCpu,
    limit,
  };
}

/** The p95 latency gate (ms) a run was checked against; 100 when not recorded. Reads run files of both gate styles. */
export function p95Limit(run: RunFile): number {
  const raw = run.meta.gates?.[LATENCY_P95_GATE_KEY] ?? run.meta.gates?.['e2e.latency_ms.p95'] ?? '< 100';
  const n = Number(raw.replace(/[^\d.]/g, ''));
  return Number.isFinite(n) && n > 0 ? n : 100;
}
