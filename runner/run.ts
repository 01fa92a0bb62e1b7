/** Orchestrates one `pnpm test:performance` run: relay up, scenarios in order, samples, reports, verdict. */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parseRatePlan, planSeconds } from '../processors/lib/schedule';
import { runArtillery, IntermediateP95Reader } from './artillery-process';
import { scenariosFor, timingFor, type ScenarioSpec } from './catalog';
import {
  applyOverrides,
  asInformational,
  loadSharedGates,
  parseCheckLines,
  type EnsureConfig,
} from './gates';
import {
  artilleryVersion,
  gitInfo,
  machineInfo,
  redactDbUrl,
  relaySettingsFrom,
  type RunMeta,
} from './metadata';
import { summarizeProfileFile, type ProfileSummary } from './cpu-profile';
import { readRelayMetrics } from './metrics-probe';
import { MysqlSlowLog, type SlowLogResult } from './mysql-slow-log';
import { BASELINE_PATH, COMPARISON_PATH, type RunOptions, type StatsMode } from './options';
import { relayFigures } from './relay-metrics';
import { ProcSampler } from './proc-sampler';
import { perSecond, ProgressTail, statusLine } from './progress';
import { buildRelay, dbProviderOf, startRelay, type RelayHandle } from './relay-process';
import { renderBaseline, renderComparison, renderRunReports } from './report';
import { buildScenarioResult, type ArtilleryReport, type ScenarioPlan, type ScenarioResult } from './results';

export const REPO_ROOT = path.resolve(__dirname, '..');
const COMMON_CONFIG = 'artillery/common.yml';
/** Must match the processor defaults (settleMs, drainMs) closely enough to size the timeout. */
const SETTLE_AND_DRAIN_SECONDS = 6;

export interface PassOutcome {
  mode: StatsMode;
  runDir: string;
  passed: boolean;
  results: ScenarioResult[];
}

export interface RunOutcome {
  runDir: string;
  passed: boolean;
  passes: PassOutcome[];
}

function timestampId(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function planFor(spec: ScenarioSpec, profile: RunOptions['profile']): ScenarioPlan {
  const doc = parse(readFileSync(path.join(REPO_ROOT, 'artillery', spec.file), 'utf8')) as {
    config?: { variables?: Record<string, unknown> };
  };
  const v = doc.config?.variables ?? {};
  const timing = timingFor(spec, profile);
  const endpoints = Number(v.endpoints ?? 1);
  const connectionsPerEndpoint = Number(v.connectionsPerEndpoint ?? 2);
  const steps = parseRatePlan(String(v.ratePlan ?? endpoints * connectionsPerEndpoint), timing.holdSeconds);
  const sendSeconds = planSeconds(steps);
  return {
    endpoints,
    connectionsPerEndpoint,
    connections: endpoints * connectionsPerEndpoint,
    steps,
    sendSeconds,
    rampSeconds: timing.rampSeconds,
    latencySampleEvery: Number(v.latencySampleEvery ?? 10),
    targetRatePerSec: steps.reduce((sum, s) => sum + s.ratePerSecond * s.seconds, 0) / sendSeconds,
  };
}

export function overridesFor(plan: ScenarioPlan, holdSeconds: number, gates: EnsureConfig): unknown {
  return {
    config: {
      phases: [{ name: 'connect', duration: plan.rampSeconds, arrivalCount: plan.connections }],
      variables: { holdSeconds, rampSeconds: plan.rampSeconds },
      ensure: gates,
    },
  };
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** One pass per mode (two with --mode both), then the side-by-side comparison. */
export async function runPerformance(opts: RunOptions, argv: string[]): Promise<RunOutcome> {
  const runId = opts.runId ?? timestampId();
  const runDir = path.resolve(REPO_ROOT, opts.outDir, runId);
  if (existsSync(runDir) && readdirSync(runDir).length > 0)
    throw new Error(`${runDir} already holds a run; pick another --run-id`);
  mkdirSync(runDir, { recursive: true });
  const passes: PassOutcome[] = [];
  // Read once: every pass measures the relay built at the start, even if the tree changes meanwhile.
  const git = gitInfo(REPO_ROOT);
  for (const [i, mode] of opts.modes.entries()) {
    const many = opts.modes.length > 1;
    if (many) console.log(`\n=== Pass ${i + 1}/${opts.modes.length}: STATS_MODE=${mode} ===`);
    const passDir = many ? path.join(runDir, mode) : runDir;
    mkdirSync(passDir, { recursive: true });
    // The relay is built once; later passes reuse it.
    const passOpts = { ...opts, statsMode: mode, build: opts.build && i === 0 };
    const outcome = await runPass(passOpts, argv, many ? `${runId}/${mode}` : runId, passDir, git);
    passes.push({ mode, ...outcome });
  }
  if (passes.length > 1) {
    renderComparison(
      passes.map((p) => p.runDir),
      path.join(runDir, 'comparison.md'),
    );
    if (opts.publish) {
      renderComparison(
        passes.map((p) => p.runDir),
        path.join(REPO_ROOT, COMPARISON_PATH),
      );
      console.log(`Wrote ${COMPARISON_PATH}`);
    }
  }
  return { runDir, passed: passes.every((p) => p.passed), passes };
}

/** The newest .cpuprofile node wrote into `dir`. */
function newestProfile(dir: string): string | undefined {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

async function runPass(
  opts: RunOptions,
  argv: string[],
  runId: string,
  runDir: string,
  git: ReturnType<typeof gitInfo>,
): Promise<Omit<PassOutcome, 'mode'>> {
  const scenarios = scenariosFor(opts.profile, opts.only);
  const sharedGates = applyOverrides(loadSharedGates(path.join(REPO_ROOT, COMMON_CONFIG)), opts.gates);

  let relay: RelayHandle | undefined;
  // Enabled before the relay starts: long_query_time applies to connections opened afterwards.
  const slowLog = opts.slowLog && opts.db ? new MysqlSlowLog(opts.db, 50) : undefined;
  let target: string;
  let apiKey: string | undefined;
  if (opts.target) {
    target = opts.target;
    apiKey = process.env.API_KEY;
    console.log(
      `Using the relay at ${target}` +
        (opts.relayPid
          ? ` (sampling CPU/RSS of pid ${opts.relayPid})`
          : ' (not started by the runner: relay CPU/RSS are not sampled; see --relay-pid)'),
    );
  } else {
    if (opts.build) {
      console.log('Building the relay (pnpm build)...');
      buildRelay(REPO_ROOT);
    }
    if (slowLog) {
      await slowLog.enable();
    }
    relay = await startRelay({
      cpuProfDir: opts.cpuProf ? runDir : undefined,
      repoRoot: REPO_ROOT,
      entry: opts.relayEntry,
      databaseUrl: opts.db,
      statsMode: opts.statsMode,
      logFile: path.join(runDir, 'relay.log'),
    });
    target = relay.target;
    apiKey = relay.apiKey;
    console.log(`Relay pid ${relay.pid} on ${target} (${relay.dbProvider}, STATS_MODE=${opts.statsMode})`);
  }

  const databaseUrl = relay?.databaseUrl ?? opts.db ?? 'external';
  const meta: RunMeta = {
    runId,
    command: ['pnpm test:performance', ...argv].join(' '),
    profile: opts.only.length > 0 ? `${opts.profile} (--only ${opts.only.join(',')})` : opts.profile,
    startedAt: new Date().toISOString(),
    gitCommit: git.commit,
    gitDirty: git.dirty,
    machine: machineInfo(),
    nodeVersion: process.version,
    artilleryVersion: artilleryVersion(REPO_ROOT),
    target,
    relayStartedByRunner: relay !== undefined,
    relayEntry: relay ? opts.relayEntry : undefined,
    dbProvider: relay?.dbProvider ?? (opts.db ? dbProviderOf(opts.db) : 'unknown (external relay)'),
    databaseUrl: redactDbUrl(databaseUrl),
    statsMode: relay ? opts.statsMode : 'unknown (external relay)',
    relaySettings: relay ? relaySettingsFrom(process.env) : undefined,
    gates: Object.fromEntries([
      ...sharedGates.thresholds.map((t) => {
        const [k] = Object.keys(t);
        return [k, `< ${t[k]}`];
      }),
      ...sharedGates.conditions.map((c, i) => [`condition ${i + 1}`, c.expression]),
    ]),
  };

  const results: ScenarioResult[] = [];
  try {
    for (const [i, spec] of scenarios.entries()) {
      const relayPid = relay?.pid ?? opts.relayPid;
      const result = await runScenario({
        spec,
        index: i + 1,
        total: scenarios.length,
        opts,
        runDir,
        runId,
        target,
        apiKey,
        relayPid,
        sharedGates,
      });
      results.push(result);
      const verdict =
        result.status === 'error'
          ? 'ERROR'
          : spec.informational
            ? 'INFO'
            : result.status === 'passed'
              ? 'PASS'
              : 'FAIL';
      console.log(
        `${verdict} ${spec.name}: p95 ${result.latency?.p95 ?? '-'} ms, p99 ${result.latency?.p99 ?? '-'} ms, ` +
          `sent ${result.sentPerSec} msg/s, delivered ${result.deliveredPerSec}/s, lost ${result.frames.lost}` +
          (result.error ? ` (${result.error})` : ''),
      );
      for (const w of result.warnings) console.log(`  warning: ${w}`);
      if (relayPid && i < scenarios.length - 1) await waitForIdle(relayPid);
    }
  } finally {
    if (relay) {
      const code = await relay.stop();
      if (code !== 0)
        console.log(
          `warning: relay exited with code ${code} on SIGTERM (expected 0); see ${path.join(runDir, 'relay.log')}`,
        );
    }
  }

  meta.finishedAt = new Date().toISOString();
  let cpuProfile: { file: string; summary: ProfileSummary } | null = null;
  const profileFile = opts.cpuProf ? newestProfile(runDir) : undefined;
  if (profileFile) {
    cpuProfile = { file: path.basename(profileFile), summary: summarizeProfileFile(profileFile, 20) };
    console.log(`CPU profile: ${path.relative(process.cwd(), profileFile)} (opens in Chrome DevTools)`);
  } else if (opts.cpuProf) {
    console.log('warning: --cpu-prof was given but the relay wrote no .cpuprofile (did it exit cleanly?)');
  }
  let slow: SlowLogResult | null = null;
  if (slowLog) {
    slow = await slowLog.collect();
    if (!slow.available) console.log(`warning: ${slow.reason}`);
  }
  const passed = results.length > 0 && results.every((r) => r.status === 'passed');
  writeFileSync(
    path.join(runDir, 'run.json'),
    JSON.stringify({ meta, passed, scenarios: results, cpuProfile, slowLog: slow }, null, 2),
  );
  renderRunReports(runDir);
  if (opts.publish && opts.modes.length === 1) {
    renderBaseline([runDir], path.join(REPO_ROOT, BASELINE_PATH));
    console.log(`Wrote ${BASELINE_PATH}`);
  }
  return { runDir, passed, results };
}

/**
 * A relay still draining a backlog (queued writes, buffered frames) would charge
 * its debt to the next scenario; wait until it has been idle for 2 s (at most 60 s).
 */
async function waitForIdle(pid: number): Promise<void> {
  const sampler = new ProcSampler(pid);
  sampler.sample();
  const deadline = Date.now() + 60_000;
  let quiet = 0;
  while (Date.now() < deadline && quiet < 2) {
    await new Promise((r) => setTimeout(r, 1000));
    const s = sampler.sample();
    if (!s) return;
    quiet = s.cpuPct < 10 ? quiet + 1 : 0;
  }
  if (quiet < 2)
    console.log(
      'warning: the relay was still busy 60 s after the scenario ended; the next scenario starts anyway',
    );
}

interface ScenarioRunInput {
  spec: ScenarioSpec;
  index: number;
  total: number;
  opts: RunOptions;
  runDir: string;
  runId: string;
  target: string;
  apiKey: string | undefined;
  relayPid: number | undefined;
  sharedGates: EnsureConfig;
}

async function runScenario(s: ScenarioRunInput): Promise<ScenarioResult> {
  const { spec, runDir } = s;
  const plan = planFor(spec, s.opts.profile);
  const timing = timingFor(spec, s.opts.profile);
  const gates = spec.informational ? asInformational(s.sharedGates) : s.sharedGates;
  const plannedSeconds = plan.rampSeconds + plan.sendSeconds + SETTLE_AND_DRAIN_SECONDS;
  // Artillery itself needs ~10 s to start and bundle the processor; a stuck VU must still end the run.
  const timeoutMs = (plannedSeconds * 1.5 + 90) * 1000;
  const progressFile = path.join(runDir, `${spec.name}.progress.jsonl`);
  const outputJson = path.join(runDir, `${spec.name}.json`);

  // This scrape also resets the relay's event-loop delay monitor, so the next one covers this scenario.
  const metricsBefore = await readRelayMetrics(s.target, s.apiKey);
  if (metricsBefore !== null)
    writeFileSync(path.join(runDir, `${spec.name}.metrics-before.prom`), metricsBefore);

  const relaySampler = s.relayPid ? new ProcSampler(s.relayPid) : undefined;
  let generatorSampler: ProcSampler | undefined;
  const tail = new ProgressTail(progressFile);
  const p95 = new IntermediateP95Reader();
  const started = Date.now();
  const interactive = process.stdout.isTTY === true;
  let lastPrinted = 0;

  relaySampler?.sample();
  const tick = setInterval(() => {
    const relayNow = relaySampler?.sample();
    const genNow = generatorSampler?.sample();
    tail.poll();
    const seconds = perSecond(tail.lines);
    // The newest second may still be missing other threads' lines; show the last complete one.
    const latest = seconds.length > 1 ? seconds[seconds.length - 2] : seconds[0];
    const line = statusLine({
      index: s.index,
      total: s.total,
      name: spec.name,
      elapsedMs: Date.now() - started,
      plannedMs: plannedSeconds * 1000,
      latest,
      p95Ms: p95.last,
      relayCpuPct: relayNow?.cpuPct,
      generatorCpuPct: genNow?.cpuPct,
    });
    if (interactive) process.stdout.write(`\r\u001b[2K${line}`);
    else if (Date.now() - lastPrinted >= 10_000) {
      console.log(line);
      lastPrinted = Date.now();
    }
  }, 1000);

  let run: Awaited<ReturnType<typeof runArtillery>> | undefined;
  let error: string | undefined;
  try {
    run = await runArtillery({
      repoRoot: REPO_ROOT,
      scenarioFile: path.join('artillery', spec.file),
      commonConfig: COMMON_CONFIG,
      target: s.target,
      overrides: overridesFor(plan, timing.holdSeconds, gates),
      outputJson,
      logFile: path.join(runDir, `${spec.name}.artillery.log`),
      env: {
        ...process.env,
        TARGET: s.target,
        ...(s.apiKey ? { API_KEY: s.apiKey } : {}),
        RELAY_PERF_PROGRESS_FILE: progressFile,
        RELAY_PERF_RUN_ID: `${s.runId}-${spec.name}`,
        ARTILLERY_DISABLE_TELEMETRY: 'true',
      },
      timeoutMs,
      onStart: (pid) => {
        generatorSampler = new ProcSampler(pid);
        generatorSampler.sample();
      },
      onLine: (l) => p95.feed(l),
    });
  } catch (err) {
    error = `could not start Artillery: ${(err as Error).message}`;
  } finally {
    clearInterval(tick);
    if (interactive) process.stdout.write('\n');
  }
  tail.poll();

  const metricsAfter = await readRelayMetrics(s.target, s.apiKey);
  if (metricsAfter !== null)
    writeFileSync(path.join(runDir, `${spec.name}.metrics-after.prom`), metricsAfter);

  if (run && run.exitCode !== 0 && !run.output.includes('Checks:')) {
    // Surface Artillery's own complaint (bad YAML, hook failure...) instead of a bare exit code.
    const tailLines = run.output.trim().split('\n').slice(-8).join('\n');
    error = `Artillery exited with ${run.exitCode}:\n${tailLines}`;
  }

  const seconds = perSecond(tail.lines);
  writeFileSync(
    path.join(runDir, `${spec.name}.samples.json`),
    JSON.stringify(
      { relay: relaySampler?.samples ?? [], generator: generatorSampler?.samples ?? [], progress: seconds },
      null,
      1,
    ),
  );

  const verdicts = run
    ? parseCheckLines(run.output).map((g) => ({ ...g, strict: !spec.informational && g.strict }))
    : [];
  const result = buildScenarioResult({
    spec,
    plan,
    report: readJson<ArtilleryReport>(outputJson),
    exitCode: run?.exitCode ?? null,
    timedOut: run?.timedOut ?? false,
    durationSec: (Date.now() - started) / 1000,
    gates: verdicts,
    relaySamples: relaySampler?.samples ?? [],
    generatorSamples: generatorSampler?.samples ?? [],
    seconds,
    error,
  });
  result.relayMetrics =
    metricsBefore !== null && metricsAfter !== null ? relayFigures(metricsBefore, metricsAfter) : null;
  return result;
}
