/**
 * Whether a scenario's load generator kept up with its own plan. A generator that fell behind
 * measured itself, not the relay: such a scenario is INVALID, neither pass nor fail.
 *
 * The thresholds were measured on the 2-core development machine (docs/performance/README.md,
 * "Generator self-check"): a healthy generator at 100-2,000 msg/s stays far inside them, a
 * generator whose worker thread is stalled by 300 ms every second crosses all three stall signals.
 */
import type { ScenarioResult } from './results';

export interface GeneratorLimits {
  /** frames sent / frames due below this: the schedule was not kept */
  minSendRatio: number;
  /** p99 of how late frames left their scheduled time, ms */
  maxSendLagP99Ms: number;
  /** worst event-loop stall of a generator worker thread, ms */
  maxLoopStallMs: number;
  /** mean CPU of the Artillery process over the scenario, % of one core */
  maxCpuMeanPct: number;
}

export const GENERATOR_LIMITS: GeneratorLimits = {
  minSendRatio: 0.95,
  maxSendLagP99Ms: 50,
  maxLoopStallMs: 200,
  maxCpuMeanPct: 90,
};

/** What the generator check needs of a scenario result. */
export type GeneratorSignals = Pick<
  ScenarioResult,
  'sendRatio' | 'sendLagMs' | 'generatorStallMaxMs' | 'generator'
>;

/**
 * The reasons a scenario's generator fell behind, one sentence each; empty when it kept up.
 * Missing signals (no samples, no sent frames) are not reasons: a scenario that sent nothing is
 * an error or a failure, judged elsewhere.
 */
export function generatorProblems(s: GeneratorSignals, limits: GeneratorLimits = GENERATOR_LIMITS): string[] {
  const reasons: string[] = [];
  if (s.sendRatio !== null && s.sendRatio < limits.minSendRatio)
    reasons.push(
      `generator sent ${(s.sendRatio * 100).toFixed(1)}% of the frames due (< ${limits.minSendRatio * 100}%)`,
    );
  if (s.sendLagMs && s.sendLagMs.p99 > limits.maxSendLagP99Ms)
    reasons.push(`generator send lag p99 ${Math.round(s.sendLagMs.p99)} ms (> ${limits.maxSendLagP99Ms} ms)`);
  if (s.generatorStallMaxMs !== null && s.generatorStallMaxMs > limits.maxLoopStallMs)
    reasons.push(
      `generator event loop stalled ${Math.round(s.generatorStallMaxMs)} ms (> ${limits.maxLoopStallMs} ms)`,
    );
  if (s.generator && s.generator.cpuMeanPct > limits.maxCpuMeanPct)
    reasons.push(`generator CPU averaged ${s.generator.cpuMeanPct}% of a core (> ${limits.maxCpuMeanPct}%)`);
  return reasons;
}

/**
 * The scenario with the generator check applied: status 'invalid' with the reasons in
 * `invalidReasons` when the generator fell behind, unless it errored (no verdict at all) or is
 * informational (its verdict never counts; the reasons are still recorded).
 */
export function withGeneratorCheck(
  r: ScenarioResult,
  limits: GeneratorLimits = GENERATOR_LIMITS,
): ScenarioResult {
  const reasons = generatorProblems(r, limits);
  if (reasons.length === 0) return { ...r, invalidReasons: [] };
  return {
    ...r,
    status: r.status === 'error' || r.informational ? r.status : 'invalid',
    invalidReasons: reasons,
  };
}

/** Exit codes of `pnpm test:performance` (run and capacity). */
export const EXIT = { pass: 0, fail: 1, usage: 2, invalid: 3 } as const;

/**
 * The exit code for a pass's (or run's) scenario statuses: 1 when any scenario failed or errored (a real failure outranks a doubtful measurement),
 * else 3 when any was INVALID, else 0. An empty list is a failure: nothing was shown to pass.
 */
export function exitCodeOf(statuses: readonly ScenarioResult['status'][]): number {
  if (statuses.length === 0 || statuses.some((s) => s === 'failed' || s === 'error')) return EXIT.fail;
  return statuses.some((s) => s === 'invalid') ? EXIT.invalid : EXIT.pass;
}
