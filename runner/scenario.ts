/** Runs one scenario: one Artillery process, the relay's /metrics around it, samples, and its result. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { readReadingSettings } from '../processors/lib/device-readings';
import { readSettings } from '../processors/lib/settings';
import { planSeconds } from '../processors/lib/schedule';
import { runArtillery, type ArtilleryRun } from './artillery-process';
import { sharedBundle } from './processor-bundle';
import { timingFor, type ProfileName, type ScenarioSpec } from './catalog';
import { asInformational, gateCount, type EnsureConfig } from './gates';
import { readRelayMetrics } from './metrics-probe';
import { ARTILLERY_DIR, COMMON_CONFIG, REPO_ROOT, scenarioFiles } from './paths';
import {
  GroupSampler,
  ProcSampler,
  readMachineTicks,
  stealPercent,
  summarize as summarizeSamples,
} from './proc-sampler';
import { perSecond, ProgressTail, startLiveStatus } from './progress';
import { scenarioRelayFigures } from './relay-metrics';
import type { ArtilleryReport, ScenarioPlan, ScenarioResult } from './results';
import {
  buildScenarioResult,
  sumSamplesPerSecond,
  type IntervalHistogram,
  type LatencyFigures,
} from './scenario-result';
import { decodeHistogram, mergeLatencyDir, newHistogram, summarize } from '../processors/lib/latency';
import { endpointSlices } from '../processors/lib/generator-slice';
import {
  generatorsFor,
  localRelayCount,
  type GeneratorRequest,
  type GeneratorSplit,
} from './generator-count';
import { gatesOnAggregate, mergeReports } from './generator-merge';
import type { GateResult } from './gates';

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

/** `overrides` (from overridesFor) loading `bundle` as the processor; unchanged without one. */
function withProcessor(overrides: unknown, bundle: string | undefined): unknown {
  if (bundle) (overrides as { config: Record<string, unknown> }).config.processor = bundle;
  return overrides;
}

/** The processors that can split a scenario over several generator processes (whole endpoints each). */
const SLICEABLE_PROCESSOR = /(^|\/)processors\/(relay|connections)\.ts$/;

/** The scenario file's processor (absolute), or null when it has none. */
export function processorOf(spec: ScenarioSpec): string | null {
  const file = path.join(REPO_ROOT, ARTILLERY_DIR, spec.file);
  const doc = parse(readFileSync(file, 'utf8')) as { config?: { processor?: unknown } };
  const processor = doc.config?.processor;
  return typeof processor === 'string' ? path.resolve(path.dirname(file), processor) : null;
}

/** The scenario file's processor (absolute) when it honours generatorIndex/generatorCount (processors/relay.ts, processors/connections.ts); else null. */
export function sliceableProcessor(spec: ScenarioSpec): string | null {
  const processor = processorOf(spec);
  return processor !== null && SLICEABLE_PROCESSOR.test(processor) ? processor : null;
}

/** One generator process's share of a scenario under --generators. */
export interface GeneratorPart {
  index: number;
  /** --overrides for this process: its arrivals (its endpoints x connectionsPerEndpoint) and its slice */
  overrides: unknown;
}

/**
 * The K processes of a scenario: process i owns endpointSlice(endpoints, i, K) (whole endpoints,
 * so its ledger and latencies need nothing from the others) and opens exactly its endpoints'
 * connections; every connection keeps its 1/(all connections) share of the aggregate plan, so
 * each process sends in proportion to its endpoints. Gates run informational in each process:
 * a slice's verdict means nothing, the runner evaluates them on the merged figures.
 * Throws RangeError when K exceeds the scenario's endpoints.
 */
export function generatorParts(
  plan: ScenarioPlan,
  holdSeconds: number,
  gates: EnsureConfig,
  generators: number,
  variables: Record<string, unknown> = {},
  processorBundle?: string,
): GeneratorPart[] {
  return endpointSlices(plan.endpoints, generators).map((slice) => {
    const part = overridesFor(
      { ...plan, connections: slice.count * plan.connectionsPerEndpoint },
      holdSeconds,
      asInformational(gates),
      { ...variables, generatorIndex: slice.index, generatorCount: generators },
    );
    return { index: slice.index, overrides: withProcessor(part, processorBundle) };
  });
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
  /**
   * Artillery processes to split the scenario over (--generators), each owning whole endpoints;
   * default `auto`, by the scenario's frame rate (runner/generator-count.ts generatorsFor).
   * Capped at the scenario's endpoints; scenarios whose processor cannot be split (not
   * processors/relay.ts or processors/connections.ts) run on one.
   */
  generators?: GeneratorRequest;
}

/**
 * How many Artillery processes run `s.spec` at `plan`: `s.generators` (default `auto`) through
 * generatorsFor, with each relay process on this machine (localRelayCount: the pids sampled as
 * the relay's, at least one for a loopback `s.target`) keeping a core from auto's frame-rate
 * count. `cores`: this machine's (generatorsFor's default) unless given.
 */
export function scenarioGenerators(
  s: Pick<ScenarioRunInput, 'spec' | 'generators' | 'relayPids' | 'target'>,
  plan: Pick<ScenarioPlan, 'steps' | 'connectionsPerEndpoint' | 'endpoints'>,
  cores?: number,
): GeneratorSplit {
  return generatorsFor(
    s.generators ?? 'auto',
    plan,
    sliceableProcessor(s.spec) !== null,
    cores,
    localRelayCount(s.relayPids, s.target),
  );
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
  const split = scenarioGenerators(s, plan);
  if (split.note) console.log(`  ${spec.name}: ${split.note}`);
  // A TypeScript processor is bundled once per runner process, before this scenario's clock
  // starts, and every Artillery process loads that file instead of bundling it (processor-bundle.ts).
  const processor = processorOf(spec);
  let bundle: string | undefined;
  let bundleError: string | undefined;
  try {
    if (processor?.endsWith('.ts')) bundle = sharedBundle(REPO_ROOT, processor);
  } catch (err) {
    bundleError = `could not bundle the processor ${path.relative(REPO_ROOT, processor!)}: ${(err as Error).message}`;
  }
  // Artillery itself needs seconds to start; a stuck VU must still end the run.
  // K processes start up at once on the same cores, and wait for the slowest (one send window).
  const timeoutMs = (plannedSeconds * 1.5 + 90 + 30 * (split.generators - 1)) * 1000;

  // This scrape also resets the relay's event-loop delay monitor, so the next one covers this scenario.
  const metricsBefore = await readRelayMetrics(s.target, s.apiKey);
  if (metricsBefore !== null) writeFileSync(files.metricsBefore, metricsBefore);

  const relaySampler = s.relayPids.length > 0 ? new GroupSampler(s.relayPids) : undefined;
  // One per Artillery process (several with --generators); the live line shows their total CPU.
  const generatorSamplers: ProcSampler[] = [];
  const tail = new ProgressTail(files.progress);
  const started = Date.now();
  const machineBefore = readMachineTicks();
  relaySampler?.sample();
  const stopStatus = startLiveStatus({
    index: s.index,
    total: s.total,
    name: spec.name,
    plannedMs: plannedSeconds * 1000,
    tail,
    p95Ms: () => latestP95(tail.lines),
    relayCpuPct: () => relaySampler?.sample()?.cpuPct,
    generatorCpuPct: () => {
      const xs = generatorSamplers.map((g) => g.sample()?.cpuPct).filter((x) => x !== undefined);
      return xs.length > 0 ? Math.round(xs.reduce((a, b) => a + b, 0)) : undefined;
    },
  });

  let parts: GeneratorPart[] = [];
  let startError = bundleError;
  if (!startError) {
    parts =
      split.generators > 1
        ? generatorParts(plan, timing.holdSeconds, gates, split.generators, s.variables, bundle)
        : [
            {
              index: 0,
              overrides: withProcessor(overridesFor(plan, timing.holdSeconds, gates, s.variables), bundle),
            },
          ];
  }
  const suffix = (i: number) => (parts.length > 1 ? `.g${i}` : '');
  let runs: (ArtilleryRun | null)[] = [];
  try {
    runs = await Promise.all(
      parts.map((part) =>
        runArtillery({
          repoRoot: REPO_ROOT,
          scenarioFile: path.join(ARTILLERY_DIR, spec.file),
          commonConfig: COMMON_CONFIG,
          target: s.target,
          overrides: part.overrides,
          outputJson: withSuffix(files.report, suffix(part.index)),
          logFile: withSuffix(files.artilleryLog, suffix(part.index)),
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
            const sampler = new ProcSampler(pid);
            sampler.sample();
            generatorSamplers.push(sampler);
          },
        }).catch((err: Error) => {
          startError ??= `could not start Artillery: ${err.message}`;
          return null;
        }),
      ),
    );
  } finally {
    stopStatus();
  }
  const merged = parts.length > 1 ? mergeGeneratorRuns(runs, parts.length, files.report) : undefined;
  // Every process's output in one log too, where a one-process run leaves it.
  if (merged?.run) writeFileSync(files.artilleryLog, merged.run.output);
  const run = parts.length > 1 ? (merged?.run ?? null) : (runs[0] ?? null);
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
        generator: sumSamplesPerSecond(generatorSamplers.map((g) => g.samples)),
        ...(generatorSamplers.length > 1 ? { generators: generatorSamplers.map((g) => g.samples) } : {}),
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
    generatorSamples: generatorSamplers.map((g) => g.samples),
    seconds,
    latency: latency.figures,
    intervals: intervalsFrom(tail.lines),
    gates: merged?.gates(gates, spec.informational ?? false),
    machineStealPct: stealPercent(machineBefore, readMachineTicks()),
  });
  // The planned split, also when a process did not start (its samples would say fewer).
  result.generators = split.generators;
  if (split.warning) result.warnings.push(split.warning);
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

/** `dir/name.json` -> `dir/name<suffix>.json` (the extension kept last). */
function withSuffix(file: string, suffix: string): string {
  if (!suffix) return file;
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}${suffix}${ext}`;
}

/**
 * The K processes' runs as one: timed out if any did, the worst exit code, their outputs in
 * order; their reports merged into `reportFile` (written only when every process wrote one, so
 * a missing slice is an error, never a partial result). `gates` evaluates the real gates on the
 * merged aggregate.
 */
function mergeGeneratorRuns(
  runs: readonly (ArtilleryRun | null)[],
  k: number,
  reportFile: string,
): {
  run: ArtilleryRun | null;
  gates: (g: EnsureConfig, informational: boolean) => GateResult[] | undefined;
} {
  const present = runs.filter((r): r is ArtilleryRun => r !== null);
  const reports = runs.map((_r, i) => readJson<ArtilleryReport>(withSuffix(reportFile, `.g${i}`)));
  const complete = reports.every((r) => r !== null) && reports.length === k;
  const report = complete ? mergeReports(reports as ArtilleryReport[]) : null;
  if (report) writeFileSync(reportFile, JSON.stringify(report));
  else rmSync(reportFile, { force: true });
  const codes = present.map((r) => r.exitCode);
  const run: ArtilleryRun | null =
    present.length < k
      ? null
      : {
          exitCode: codes.includes(null) ? null : Math.max(...(codes as number[])),
          timedOut: present.some((r) => r.timedOut),
          output: present.map((r, i) => `--- generator ${i + 1}/${k} ---\n${r.output}`).join('\n'),
        };
  return {
    run,
    gates: (g, informational) => (report ? gatesOnAggregate(g, report.aggregate, informational) : undefined),
  };
}
