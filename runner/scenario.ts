/** Runs one scenario: one Artillery process, the relay's /metrics around it, samples, and its result. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { readReadingSettings } from '../processors/lib/device-readings';
import { readSettings } from '../processors/lib/settings';
import { planSeconds } from '../processors/lib/schedule';
import { runArtillery, type ArtilleryRun } from './artillery-process';
import { timingFor, type ProfileName, type ScenarioSpec } from './catalog';
import { asInformational, gateCount, type EnsureConfig } from './gates';
import { readRelayMetrics } from './metrics-probe';
import { ARTILLERY_DIR, COMMON_CONFIG, REPO_ROOT, scenarioFiles } from './paths';
import { GroupSampler, ProcSampler, summarize as summarizeSamples } from './proc-sampler';
import { perSecond, ProgressTail, startLiveStatus } from './progress';
import { scenarioRelayFigures } from './relay-metrics';
import type { ArtilleryReport, ScenarioPlan, ScenarioResult } from './results';
import { buildScenarioResult, type IntervalHistogram, type LatencyFigures } from './scenario-result';
import { decodeHistogram, mergeLatencyDir, newHistogram, summarize } from '../processors/lib/latency';

/**
 * The plan of a scenario under a profile: its file's `config.variables`, read by the same
 * functions (and so with the same defaults) as the processor reads them, with the profile's
 * send window and connection ramp. Throws on invalid variables, as the processor would.
 */
export function planFor(
  spec: ScenarioSpec,
  profile: ProfileName,
  variables: Record<string, unknown> = {},
): ScenarioPlan & { settleAndDrainSeconds: number } {
  const doc = parse(readFileSync(path.join(REPO_ROOT, ARTILLERY_DIR, spec.file), 'utf8')) as {
    config?: { variables?: Record<string, unknown> };
  };
  const timing = timingFor(spec, profile);
  const vars = { ...doc.config?.variables, ...timing, ...variables };
  const v = readSettings(vars);
  const readings = readReadingSettings(vars);
  const sendSeconds = planSeconds(v.steps);
  return {
    endpoints: v.endpoints,
    connectionsPerEndpoint: v.connectionsPerEndpoint,
    connections: v.endpoints * v.connectionsPerEndpoint,
    steps: v.steps,
    sendSeconds,
    rampSeconds: v.rampSeconds,
    targetRatePerSec: v.steps.reduce((sum, s) => sum + s.ratePerSecond * s.seconds, 0) / sendSeconds,
    // A scenario with device readings may also wait up to readingsCheckMs for them to be stored.
    settleAndDrainSeconds: (v.settleMs + v.drainMs + (readings.share > 0 ? readings.checkMs : 0)) / 1000,
  };
}

/** The --overrides Artillery gets: the profile's phases and timing, and the (possibly informational) gates. */
export function overridesFor(
  plan: ScenarioPlan,
  holdSeconds: number,
  gates: EnsureConfig,
  variables: Record<string, unknown> = {},
): unknown {
  const { latencyLimits, ...ensure } = gates;
  return {
    config: {
      phases: [{ name: 'connect', duration: plan.rampSeconds, arrivalCount: plan.connections }],
      variables: { holdSeconds, ...variables, rampSeconds: plan.rampSeconds, ...latencyLimits },
      ensure,
    },
  };
}

/** Exact figures from the generator threads' histogram files; null when there are none. Never throws: a corrupt file is reported as a warning. */
export function latencyFiguresFrom(dir: string): { figures: LatencyFigures | null; warning?: string } {
  try {
    const merged = mergeLatencyDir(dir);
    if (!merged) return { figures: null };
    return {
      figures: {
        intended: summarize(merged.set.intended),
        sent: summarize(merged.set.sent),
        sendLag: summarize(merged.set.sendLag),
        local: summarize(merged.set.local),
        cross: summarize(merged.set.cross),
        threads: merged.files,
      },
    };
  } catch (err) {
    return {
      figures: null,
      warning: `latency histograms in ${dir} could not be merged: ${(err as Error).message}`,
    };
  }
}

/** p95 (ms) of the newest second's deliveries over all threads, for the live status line. */
function latestP95(lines: readonly object[]): number | undefined {
  const recent = intervalsFrom(lines.slice(-16));
  const newest = recent.reduce((m, i) => Math.max(m, i.t), 0);
  const h = newHistogram();
  for (const i of recent) if (i.t > newest - 1000) h.add(decodeHistogram(i.hdr));
  return summarize(h)?.p95;
}

/** The progress lines' per-interval latency histograms (see processors/lib/worker-stats.ts). */
function intervalsFrom(lines: readonly object[]): IntervalHistogram[] {
  const out: IntervalHistogram[] = [];
  for (const l of lines as { t?: unknown; latencyHdr?: unknown }[]) {
    if (typeof l.t === 'number' && typeof l.latencyHdr === 'string') out.push({ t: l.t, hdr: l.latencyHdr });
  }
  return out;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

export interface ScenarioRunInput {
  spec: ScenarioSpec;
  /** 1-based position in the pass, and the pass's scenario count (for the status line) */
  index: number;
  total: number;
  profile: ProfileName;
  passDir: string;
  runId: string;
  /** the relay's URL: REST calls and /metrics go here */
  target: string;
  /** --cluster: every relay process's URL, connections spread over them (processors/lib/targets.ts); undefined without --cluster */
  targets?: string[];
  apiKey: string | undefined;
  /** pids whose CPU/RSS are sampled (summed) as the relay's; empty when unknown (external relay) */
  relayPids: number[];
  sharedGates: EnsureConfig;
  /** config.variables over the scenario file's and the profile's (e.g. ratePlan, holdSeconds from --rate/--hold) */
  variables?: Record<string, unknown>;
}

/** Runs the scenario, leaves its files in `passDir` (see paths.ts) and returns its result. Never throws for an Artillery failure: that is a result with status 'error'. */
export async function runScenario(s: ScenarioRunInput): Promise<ScenarioResult> {
  const { spec } = s;
  const files = scenarioFiles(s.passDir, spec.name);
  // One HDR file per generator thread lands here; cleared so a rerun never merges stale threads.
  const latencyDir = path.join(s.passDir, `${spec.name}.latency`);
  rmSync(latencyDir, { recursive: true, force: true });
  const { settleAndDrainSeconds, ...plan } = planFor(spec, s.profile, s.variables);
  const timing = timingFor(spec, s.profile);
  const gates = spec.informational ? asInformational(s.sharedGates) : s.sharedGates;
  const plannedSeconds = plan.rampSeconds + plan.sendSeconds + settleAndDrainSeconds;
  // Artillery itself needs ~10 s to start and bundle the processor; a stuck VU must still end the run.
  const timeoutMs = (plannedSeconds * 1.5 + 90) * 1000;

  // This scrape also resets the relay's event-loop delay monitor, so the next one covers this scenario.
  const metricsBefore = await readRelayMetrics(s.target, s.apiKey);
  if (metricsBefore !== null) writeFileSync(files.metricsBefore, metricsBefore);

  const relaySampler = s.relayPids.length > 0 ? new GroupSampler(s.relayPids) : undefined;
  let generatorSampler: ProcSampler | undefined;
  const tail = new ProgressTail(files.progress);
  const started = Date.now();
  relaySampler?.sample();
  const stopStatus = startLiveStatus({
    index: s.index,
    total: s.total,
    name: spec.name,
    plannedMs: plannedSeconds * 1000,
    tail,
    p95Ms: () => latestP95(tail.lines),
    relayCpuPct: () => relaySampler?.sample()?.cpuPct,
    generatorCpuPct: () => generatorSampler?.sample()?.cpuPct,
  });

  let run: ArtilleryRun | null = null;
  let startError: string | undefined;
  try {
    run = await runArtillery({
      repoRoot: REPO_ROOT,
      scenarioFile: path.join(ARTILLERY_DIR, spec.file),
      commonConfig: COMMON_CONFIG,
      target: s.target,
      overrides: overridesFor(plan, timing.holdSeconds, gates, s.variables),
      outputJson: files.report,
      logFile: files.artilleryLog,
      env: {
        ...process.env,
        TARGET: s.target,
        TARGETS: (s.targets ?? [s.target]).join(','),
        ...(s.apiKey ? { API_KEY: s.apiKey } : {}),
        RELAY_PERF_PROGRESS_FILE: files.progress,
        RELAY_PERF_HDR_DIR: latencyDir,
        RELAY_PERF_RUN_ID: `${s.runId}-${spec.name}`,
        ARTILLERY_DISABLE_TELEMETRY: 'true',
      },
      timeoutMs,
      onStart: (pid) => {
        generatorSampler = new ProcSampler(pid);
        generatorSampler.sample();
      },
    });
  } catch (err) {
    startError = `could not start Artillery: ${(err as Error).message}`;
  } finally {
    stopStatus();
  }
  tail.poll();

  const metricsAfter = await readRelayMetrics(s.target, s.apiKey);
  if (metricsAfter !== null) writeFileSync(files.metricsAfter, metricsAfter);

  const seconds = perSecond(tail.lines);
  const clustered = s.targets !== undefined;
  const latency = latencyFiguresFrom(latencyDir);
  writeFileSync(
    files.samples,
    JSON.stringify(
      {
        relay: relaySampler?.samples ?? [],
        ...(clustered ? { relayProcesses: relaySampler?.members.map((m) => m.samples) ?? [] } : {}),
        generator: generatorSampler?.samples ?? [],
        progress: seconds,
      },
      null,
      1,
    ),
  );

  const result = buildScenarioResult({
    spec,
    plan,
    report: readJson<ArtilleryReport>(files.report),
    artillery: run,
    startError,
    expectedGates: gateCount(gates),
    durationSec: (Date.now() - started) / 1000,
    relaySamples: relaySampler?.samples ?? [],
    generatorSamples: generatorSampler?.samples ?? [],
    seconds,
    latency: latency.figures,
    intervals: intervalsFrom(tail.lines),
  });
  if (latency.warning) result.warnings.push(latency.warning);
  result.relayMetrics = scenarioRelayFigures(s.passDir, spec.name);
  if (clustered) {
    result.cluster = {
      processes: s.targets?.length ?? 1,
      // One process: every delivery is local (the processor splits only across several).
      local: (s.targets?.length === 1 ? latency.figures?.intended : latency.figures?.local) ?? null,
      cross: latency.figures?.cross ?? null,
      perProcess: relaySampler?.members.map((m) => summarizeSamples(m.samples)) ?? [],
    };
  }
  return result;
}
