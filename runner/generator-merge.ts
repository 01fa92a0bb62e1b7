/**
 * Merging what several generator processes of one scenario produced
 * (`--generators K`, see runner/scenario.ts): their Artillery JSON reports and
 * the verdicts of the SLO gates, evaluated on the merged figures.
 *
 * What is exact and what is not:
 *  - counters (frames sent/due/delivered/lost/misrouted, VUs, the latency-limit
 *    counts the gates use) add up exactly: every process owns whole endpoints, so
 *    no frame is counted by two ledgers and none is owed across processes;
 *  - delivery latency never comes from these reports: it is merged from the HDR
 *    files of every thread of every process (processors/lib/latency.ts), exact;
 *  - Artillery's own summaries (connect time, event-loop stalls) are sketches that
 *    cannot be merged exactly from their percentiles: count, min, max and mean
 *    merge exactly, a percentile becomes the largest of the processes' values
 *    (an upper bound, so a merged figure never looks better than a slice did).
 */
import { Plugin as EnsurePlugin } from 'artillery-plugin-ensure';
import type { EnsureConfig, GateResult } from './gates';
import type { ArtilleryReport } from './results';

type Period = ArtilleryReport['aggregate'];
type Summary = NonNullable<Period['summaries']>[string];

function addCounts(into: Record<string, number>, from: Record<string, number> | undefined): void {
  for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + v;
}

/** Exact count/min/max/mean; every other statistic (p50, p95, p99, median...) the largest of the inputs. */
export function mergeSummaries(parts: readonly Summary[]): Summary {
  const present = parts.filter((p) => p && p.count > 0);
  if (present.length === 0) return parts[0];
  const count = present.reduce((n, p) => n + p.count, 0);
  const out: Record<string, number> = {};
  for (const p of present) {
    for (const [k, v] of Object.entries(p) as [string, number][]) {
      if (typeof v === 'number') out[k] = k in out ? Math.max(out[k], v) : v;
    }
  }
  out.count = count;
  out.min = Math.min(...present.map((p) => p.min));
  out.mean = present.reduce((s, p) => s + p.mean * p.count, 0) / count;
  return out as unknown as Summary;
}

function mergePeriods(parts: readonly Period[]): Period {
  const counters: Record<string, number> = {};
  const rates: Record<string, number> = {};
  const byName = new Map<string, Summary[]>();
  for (const p of parts) {
    addCounts(counters, p.counters);
    addCounts(rates, (p as { rates?: Record<string, number> }).rates);
    for (const [name, s] of Object.entries(p.summaries ?? {})) {
      const list = byName.get(name) ?? [];
      list.push(s);
      byName.set(name, list);
    }
  }
  const summaries: Record<string, Summary> = {};
  for (const [name, list] of byName) summaries[name] = mergeSummaries(list);
  const merged: Period & { rates: Record<string, number> } = { counters, rates, summaries };
  if (parts[0]?.period !== undefined) merged.period = parts[0].period;
  return merged;
}

/**
 * One report from the reports of the K generator processes: the aggregate merged as described
 * above; intermediate periods merged by their `period` (Artillery aligns periods to the wall
 * clock, so the processes' buckets line up). An empty list gives an empty report.
 */
export function mergeReports(reports: readonly ArtilleryReport[]): ArtilleryReport {
  const periods = new Map<string, Period[]>();
  for (const r of reports) {
    for (const p of r.intermediate ?? []) {
      const key = String(p.period);
      const list = periods.get(key) ?? [];
      list.push(p);
      periods.set(key, list);
    }
  }
  return {
    aggregate: mergePeriods(reports.map((r) => r.aggregate ?? {})),
    intermediate: [...periods.values()].map(mergePeriods).sort((a, b) => Number(a.period) - Number(b.period)),
  };
}

interface EnsureCheck {
  original: string;
  strict: boolean;
  result: unknown;
}

/**
 * The gates' verdicts on a (merged) aggregate, computed by artillery-plugin-ensure's own
 * evaluator, so an expression means exactly what it means in a single Artillery run. Informational
 * scenarios get non-strict verdicts, as ensure reports them for one process. A gate ensure cannot
 * compile (a typo in common.yml) fails, as it does in a single run.
 */
export function gatesOnAggregate(
  gates: EnsureConfig,
  aggregate: Period,
  informational: boolean,
): GateResult[] {
  const vars = EnsurePlugin.statsToVars({
    report: {
      counters: aggregate.counters ?? {},
      rates: (aggregate as { rates?: Record<string, number> }).rates ?? {},
      summaries: aggregate.summaries ?? {},
    },
  });
  // ensure logs through Artillery's global while it evaluates; outside a run there is none.
  const g = globalThis as { artillery?: unknown };
  const previous = g.artillery;
  g.artillery = { log: () => undefined };
  let checks: EnsureCheck[];
  try {
    checks = EnsurePlugin.runChecks(
      { thresholds: gates.thresholds, conditions: gates.conditions },
      vars,
    ) as EnsureCheck[];
  } finally {
    g.artillery = previous;
  }
  return checks.map((c) => ({
    expression: c.original,
    passed: c.result === 1 || c.result === true,
    strict: !informational && c.strict,
  }));
}
