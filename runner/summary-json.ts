/**
 * reports/<run-id>/summary.json: one machine-readable line of numbers per scenario and pass, for
 * CI and scripts that should not parse run.json (whose shape follows the reports' needs).
 */
import type { ScenarioResult } from './results';

export interface SummaryScenario {
  name: string;
  /** the plan's mean aggregate send rate, msg/s */
  msgPerSecTarget: number;
  /** frames the generator sent per second of the send window */
  msgPerSecSent: number;
  /** owed deliveries that arrived, per second of the send window */
  deliveriesPerSec: number;
  /** end-to-end latency percentiles, ms; null when no delivery was sampled */
  latencyMs: { p50: number; p95: number; p99: number; max: number } | null;
  /** latency from the moment each frame actually left the generator (ScenarioResult.latencyFromSend), ms; null when none was recorded */
  latencyFromActualSendMs: { p95: number; p99: number } | null;
  lost: number;
  /** the generator kept up with its plan (false: INVALID) */
  valid: boolean;
  /** status 'passed' (an INVALID scenario is neither pass nor fail: pass is false, valid is false) */
  pass: boolean;
}

export interface SummaryPass {
  statsMode: string;
  /** 'sqlite', 'mysql', or null for a relay at --target */
  database: string | null;
  scenarios: SummaryScenario[];
}

export interface RunSummary {
  runId: string;
  gitCommit: string;
  passes: SummaryPass[];
}

/** One scenario's line of summary.json. */
export function summaryScenario(r: ScenarioResult): SummaryScenario {
  const actual = r.latencyFromSend;
  return {
    name: r.name,
    msgPerSecTarget: Math.round(r.plan.targetRatePerSec * 10) / 10,
    msgPerSecSent: r.sentPerSec,
    deliveriesPerSec: r.deliveredPerSec,
    latencyMs: r.latency
      ? { p50: r.latency.p50, p95: r.latency.p95, p99: r.latency.p99, max: r.latency.max }
      : null,
    latencyFromActualSendMs: actual ? { p95: actual.p95, p99: actual.p99 } : null,
    lost: r.frames.lost,
    valid: (r.invalidReasons ?? []).length === 0,
    pass: r.status === 'passed',
  };
}

/** The whole summary.json document of a run. */
export function runSummary(
  runId: string,
  gitCommit: string,
  passes: readonly { statsMode: string; database: string | null; results: readonly ScenarioResult[] }[],
): RunSummary {
  return {
    runId,
    gitCommit,
    passes: passes.map((p) => ({
      statsMode: p.statsMode,
      database: p.database,
      scenarios: p.results.map(summaryScenario),
    })),
  };
}
