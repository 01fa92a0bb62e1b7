/**
 * One capacity probe: a freshly started relay (the project's or the reference), the throughput
 * scenario at one aggregate rate for a short hold, the generator check, and the probe's point.
 *
 * Fresh relay per probe: a probe above the knee leaves the relay with buffered frames, queued
 * stats and a grown heap, which would be charged to the next probe; a start costs ~1-3 s.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SCENARIOS } from '../catalog';
import { applyOverrides, loadSharedGates } from '../gates';
import { withGeneratorCheck } from '../generator-health';
import type { CapacityOptions } from '../options';
import { COMMON_CONFIG, REPO_ROOT, passFiles } from '../paths';
import { spawnRelay } from '../relay-process';
import type { ScenarioResult } from '../results';
import { runScenario } from '../scenario';
import type { ProbePoint } from './search';

/** The relay a search measures. */
export type RelayKind = 'relay' | 'reference';

/** The pack's reference relay, run from source (see reference-relay.ts). */
export const REFERENCE_RELAY_ENTRY = 'runner/reference-relay.ts';

/** The scenario every probe runs, with its shape and rate replaced. */
const PROBE_SCENARIO = SCENARIOS.find((s) => s.name === 'throughput-100')!;

/** A probe's point from its scenario result: pass = valid, no error, p95 < SLO, nothing lost or misdelivered, no failed VU. */
export function pointOf(rate: number, r: ScenarioResult, sloMs: number): ProbePoint {
  const invalidReasons = r.invalidReasons ?? [];
  const valid = invalidReasons.length === 0;
  const error = r.status === 'error' ? (r.error ?? 'error').split('\n')[0] : undefined;
  const pass =
    error === undefined &&
    valid &&
    r.latency !== null &&
    r.latency.p95 < sloMs &&
    r.frames.lost === 0 &&
    r.frames.duplicated + r.frames.misrouted === 0 &&
    r.vusers.failed === 0;
  return {
    rate,
    sentPerSec: r.sentPerSec,
    deliveredPerSec: r.deliveredPerSec,
    p50: r.latency?.p50 ?? null,
    p95: r.latency?.p95 ?? null,
    p99: r.latency?.p99 ?? null,
    lost: r.frames.lost,
    valid,
    invalidReasons,
    ...(error !== undefined ? { error } : {}),
    generators: r.generators ?? 1,
    machineStealPct: r.machineStealPct ?? null,
    pass,
  };
}

/**
 * Runs one probe of `kind` at `rate` msg/s into `<searchDir>/<rate>/` (Artillery JSON, samples,
 * relay.log). Never throws for a relay that does not start: that is a probe with `error`.
 */
export async function runProbe(
  kind: RelayKind,
  rate: number,
  opts: CapacityOptions,
  searchDir: string,
  runId: string,
): Promise<ProbePoint> {
  const dir = path.join(searchDir, String(rate));
  mkdirSync(dir, { recursive: true });
  let relay;
  try {
    relay = await spawnRelay({
      repoRoot: REPO_ROOT,
      entry: kind === 'reference' ? REFERENCE_RELAY_ENTRY : opts.relayEntry,
      databaseUrl: kind === 'reference' ? undefined : opts.db,
      statsMode: opts.statsMode,
      logFile: passFiles.relayLog(dir),
    });
  } catch (err) {
    return {
      rate,
      sentPerSec: 0,
      deliveredPerSec: 0,
      p50: null,
      p95: null,
      p99: null,
      lost: 0,
      valid: true,
      invalidReasons: [],
      error: `${kind} did not start: ${(err as Error).message}`,
      pass: false,
    };
  }
  let result: ScenarioResult;
  try {
    result = withGeneratorCheck(
      await runScenario({
        spec: PROBE_SCENARIO,
        index: 1,
        total: 1,
        profile: 'quick',
        passDir: dir,
        runId: `${runId}-${kind}-${rate}`,
        target: relay.target,
        apiKey: relay.apiKey,
        relayPids: [relay.pid],
        sharedGates: applyOverrides(loadSharedGates(path.join(REPO_ROOT, COMMON_CONFIG)), {
          p95Ms: opts.sloMs,
        }),
        variables: {
          endpoints: opts.endpoints,
          connectionsPerEndpoint: opts.connectionsPerEndpoint,
          ratePlan: String(rate),
          holdSeconds: opts.holdSeconds,
          rampSeconds: opts.rampSeconds,
        },
        generators: opts.generators,
      }),
    );
  } finally {
    await relay.stop();
  }
  return pointOf(rate, result, opts.sloMs);
}
