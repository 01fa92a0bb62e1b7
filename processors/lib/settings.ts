/**
 * Scenario knobs, read from Artillery `config.variables` (merged into every VU's
 * context.vars). Defaults live here and nowhere else, so a scenario file only
 * states what makes it different.
 */
import { endpointSlice, type GeneratorSlice } from './generator-slice';
import { parseRatePlan, type RateStep } from './schedule';

export const DEFAULT_TARGET = 'ws://127.0.0.1:8080';

export interface ScenarioSettings {
  endpoints: number;
  connectionsPerEndpoint: number;
  /** Aggregate inbound msg/s plan across all connections. */
  steps: RateStep[];
  rampSeconds: number;
  /** Pause between the last planned connection and the first frame, so every peer is counting. */
  settleMs: number;
  /** How long a receiver waits for owed frames after sending stops before calling them lost. */
  drainMs: number;
  payloadBytes: number;
  /** SLO limits on the latency from the intended send time, ms: deliveries above them are counted (see metric-names). */
  latencyP95LimitMs: number;
  latencyP99LimitMs: number;
  /**
   * The endpoints this generator process owns (variables generatorIndex, generatorCount; set by
   * the runner's --generators). Without them: all of them (one generator, the hand-run case).
   * `endpoints`, `connectionsPerEndpoint` and `steps` stay the whole scenario's, so every
   * connection sends the same share of the aggregate rate however the endpoints are split.
   */
  slice: GeneratorSlice;
}

type Vars = Record<string, unknown>;

function positiveInt(vars: Vars, name: string, fallback: number): number {
  const raw = vars[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`config.variables.${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

function nonNegativeInt(vars: Vars, name: string, fallback: number): number {
  const raw = vars[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`config.variables.${name} must be an integer >= 0, got ${JSON.stringify(raw)}`);
  return n;
}

function nonNegative(vars: Vars, name: string, fallback: number): number {
  const raw = vars[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`config.variables.${name} must be a number >= 0, got ${JSON.stringify(raw)}`);
  return n;
}

export function readSettings(vars: Vars): ScenarioSettings {
  const endpoints = positiveInt(vars, 'endpoints', 1);
  const connectionsPerEndpoint = positiveInt(vars, 'connectionsPerEndpoint', 2);
  const holdSeconds = nonNegative(vars, 'holdSeconds', 30);
  // Without an explicit plan, one frame per connection per second.
  const plan = vars.ratePlan ?? String(endpoints * connectionsPerEndpoint);
  return {
    endpoints,
    connectionsPerEndpoint,
    steps: parseRatePlan(plan as string | number, holdSeconds),
    rampSeconds: nonNegative(vars, 'rampSeconds', 5),
    settleMs: nonNegative(vars, 'settleMs', 1000),
    drainMs: nonNegative(vars, 'drainMs', 5000),
    payloadBytes: positiveInt(vars, 'payloadBytes', 128),
    latencyP95LimitMs: nonNegative(vars, 'latencyP95LimitMs', 100),
    latencyP99LimitMs: nonNegative(vars, 'latencyP99LimitMs', 250),
    slice: sliceOf(vars, endpoints),
  };
}

function sliceOf(vars: Vars, endpoints: number): ScenarioSettings['slice'] {
  const generators = positiveInt(vars, 'generatorCount', 1);
  const index = nonNegativeInt(vars, 'generatorIndex', 0);
  try {
    return endpointSlice(endpoints, index, generators);
  } catch (err) {
    throw new Error(`config.variables generatorIndex/generatorCount: ${(err as Error).message}`);
  }
}

/** ws://host:port -> http://host:port (wss -> https), path dropped. */
export function restBaseFromTarget(target: string): string {
  const url = new URL(target);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  else if (url.protocol === 'wss:') url.protocol = 'https:';
  else if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`unsupported target protocol in ${target}`);
  return `${url.protocol}//${url.host}`;
}

export function resolveTarget(vars: Vars): string {
  return process.env.TARGET || (typeof vars.target === 'string' && vars.target) || DEFAULT_TARGET;
}
