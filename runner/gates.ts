/**
 * SLO gates. The definitions live in artillery/common.yml (so a hand-run
 * `artillery run --config artillery/common.yml ...` enforces the same thing);
 * the runner only rewrites numbers when asked and reads ensure's verdicts back.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { COUNTERS, HISTOGRAMS } from '../processors/lib/metric-names';
import type { GateOverrides } from './options';

interface Threshold {
  [metric: string]: number;
}
interface Condition {
  expression: string;
  strict?: boolean;
}
export interface EnsureConfig {
  thresholds: Threshold[];
  conditions: Condition[];
}

export interface GateResult {
  expression: string;
  passed: boolean;
  /** false for informational gates (reported, never fail the run) */
  strict: boolean;
}

export function loadSharedGates(commonConfigPath: string): EnsureConfig {
  const doc = parse(readFileSync(commonConfigPath, 'utf8')) as {
    config?: { ensure?: Partial<EnsureConfig> };
  };
  const ensure = doc.config?.ensure;
  if (!ensure)
    throw new Error(`${commonConfigPath} has no config.ensure block; refusing to run without gates`);
  return { thresholds: ensure.thresholds ?? [], conditions: ensure.conditions ?? [] };
}

const P95 = `${HISTOGRAMS.latency}.p95`;
const P99 = `${HISTOGRAMS.latency}.p99`;

export function applyOverrides(base: EnsureConfig, o: GateOverrides): EnsureConfig {
  const thresholds = base.thresholds.map((t) => {
    const [metric] = Object.keys(t);
    if (metric === P95 && o.p95Ms !== undefined) return { [metric]: o.p95Ms };
    if (metric === P99 && o.p99Ms !== undefined) return { [metric]: o.p99Ms };
    return t;
  });
  const conditions = base.conditions.map((c) => {
    if (o.maxLost !== undefined && c.expression.trim() === `${COUNTERS.lost} == 0`) {
      return { ...c, expression: `${COUNTERS.lost} <= ${o.maxLost}` };
    }
    if (o.minSendRatio !== undefined && c.expression.includes(`${COUNTERS.sent} >=`)) {
      return { ...c, expression: `${COUNTERS.sent} >= ${o.minSendRatio} * ${COUNTERS.due}` };
    }
    return c;
  });
  return { thresholds, conditions };
}

/** Thresholds are always strict in ensure; informational runs restate them as non-strict conditions. */
export function asInformational(gates: EnsureConfig): EnsureConfig {
  return {
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
