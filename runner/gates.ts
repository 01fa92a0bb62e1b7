/**
 * SLO gates. The definitions live in artillery/common.yml (so a hand-run
 * `artillery run --config artillery/common.yml ...` enforces the same thing);
 * the runner only rewrites numbers when asked and reads ensure's verdicts back.
 *
 * The latency gates are exact: the processor counts deliveries whose latency from
 * the intended send time exceeds config.variables.latencyP95LimitMs / latencyP99LimitMs,
 * and ensure checks `over_p95 <= 0.05 * delivered` (i.e. p95 <= limit). Changing a
 * latency limit therefore changes a variable, not an expression.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { COUNTERS } from '../processors/lib/metric-names';
import type { GateOverrides } from './options';

interface Threshold {
  [metric: string]: number;
}
interface Condition {
  expression: string;
  strict?: boolean;
}
/** Limits (ms) on the latency from the intended send time; they reach the processor as config.variables. */
export interface LatencyLimits {
  latencyP95LimitMs: number;
  latencyP99LimitMs: number;
}
export interface EnsureConfig {
  thresholds: Threshold[];
  conditions: Condition[];
  /** absent when common.yml sets none (the processor's defaults then apply) */
  latencyLimits?: LatencyLimits;
}

export interface GateResult {
  expression: string;
  passed: boolean;
  /** false for informational gates (reported, never fail the run) */
  strict: boolean;
}

export function loadSharedGates(commonConfigPath: string): EnsureConfig {
  const doc = parse(readFileSync(commonConfigPath, 'utf8')) as {
    config?: { ensure?: Partial<EnsureConfig>; variables?: Record<string, unknown> };
  };
  const ensure = doc.config?.ensure;
  if (!ensure)
    throw new Error(`${commonConfigPath} has no config.ensure block; refusing to run without gates`);
  const v = doc.config?.variables ?? {};
  const latencyLimits =
    v.latencyP95LimitMs !== undefined || v.latencyP99LimitMs !== undefined
      ? {
          latencyP95LimitMs: Number(v.latencyP95LimitMs ?? 100),
          latencyP99LimitMs: Number(v.latencyP99LimitMs ?? 250),
        }
      : undefined;
  return { thresholds: ensure.thresholds ?? [], conditions: ensure.conditions ?? [], latencyLimits };
}

export function applyOverrides(base: EnsureConfig, o: GateOverrides): EnsureConfig {
  const latencyLimits =
    o.p95Ms !== undefined || o.p99Ms !== undefined
      ? {
          latencyP95LimitMs: o.p95Ms ?? base.latencyLimits?.latencyP95LimitMs ?? 100,
          latencyP99LimitMs: o.p99Ms ?? base.latencyLimits?.latencyP99LimitMs ?? 250,
        }
      : base.latencyLimits;
  const thresholds = base.thresholds;
  const conditions = base.conditions.map((c) => {
    if (o.maxLost !== undefined && c.expression.trim() === `${COUNTERS.lost} == 0`) {
      return { ...c, expression: `${COUNTERS.lost} <= ${o.maxLost}` };
    }
    if (o.minSendRatio !== undefined && c.expression.includes(`${COUNTERS.sent} >=`)) {
      return { ...c, expression: `${COUNTERS.sent} >= ${o.minSendRatio} * ${COUNTERS.due}` };
    }
    return c;
  });
  return { thresholds, conditions, latencyLimits };
}

/** Thresholds are always strict in ensure; informational runs restate them as non-strict conditions. */
export function asInformational(gates: EnsureConfig): EnsureConfig {
  return {
    latencyLimits: gates.latencyLimits,
    thresholds: [],
    conditions: [
      ...gates.thresholds.map((t) => {
        const [metric] = Object.keys(t);
        return { expression: `${metric} < ${t[metric]}`, strict: false };
      }),
      ...gates.conditions.map((c) => ({ ...c, strict: false })),
    ],
  };
}

export function gateCount(gates: EnsureConfig): number {
  return gates.thresholds.length + gates.conditions.length;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** ensure prints `ok: <expr>` / `fail: <expr>[ (optional)]` after a `Checks:` line. */
export function parseCheckLines(output: string): GateResult[] {
  const lines = output.replace(ANSI, '').split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim() === 'Checks:');
  if (start < 0) return [];
  const results: GateResult[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^(ok|fail): (.*?)( \(optional\))?$/.exec(line.trim());
    if (!m) continue;
    results.push({ expression: m[2], passed: m[1] === 'ok', strict: m[3] === undefined });
  }
  return results;
}

/** run.json's meta.gates keys for the latency limits (the report lists them; the ramp reads the p95 one). */
export const LATENCY_P95_GATE_KEY = 'latency p95 from intended send time';
export const LATENCY_P99_GATE_KEY = 'latency p99 from intended send time';

/** The latency limits as `[key, "<= N ms"]` entries for meta.gates; none when common.yml sets no limits. */
export function latencyGateEntries(gates: EnsureConfig): [string, string][] {
  const l = gates.latencyLimits;
  if (!l) return [];
  return [
    [LATENCY_P95_GATE_KEY, `<= ${l.latencyP95LimitMs} ms`],
    [LATENCY_P99_GATE_KEY, `<= ${l.latencyP99LimitMs} ms`],
  ];
}
