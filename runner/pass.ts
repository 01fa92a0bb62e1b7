/** One pass of a run: one relay (one STATS_MODE), every scenario of the profile in order, run.json and the pass's reports. */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scenariosFor, type ScenarioSpec } from './catalog';
import { summarizeProfileFile, type ProfileSummary } from './cpu-profile';
import { applyOverrides, loadSharedGates } from './gates';
import { exitCodeOf, withGeneratorCheck } from './generator-health';
import { buildRunMeta, type gitInfo } from './metadata';
import { MysqlSlowLog, type SlowLogResult } from './mysql-slow-log';
import type { RunOptions } from './options';
import { COMMON_CONFIG, REPO_ROOT, passFiles } from './paths';
import { GroupSampler } from './proc-sampler';
import { buildRelay, spawnCluster, spawnRelay, type RelayHandle } from './relay-process';
import { publish } from './report/documents';
import { renderRunReports } from './report/views/run-report';
import type { ScenarioResult } from './results';
import { runScenario } from './scenario';

export interface PassOutcome {
  passDir: string;
  /** every scenario's status is 'passed' (informational ones included) */
  passed: boolean;
  /** 0 pass, 1 fail/error, 3 INVALID (see generator-health.ts) */
  exitCode: number;
  /** the relay's database provider ('sqlite', 'mysql'); null for a relay at --target */
  database: string | null;
  results: ScenarioResult[];
}

/** Families whose plan is one constant aggregate rate, so --rate/--hold mean the same thing for all of them. */
export const THROUGHPUT_STYLE: readonly ScenarioSpec['family'][] = [
  'throughput',
  'iot',
  'stability',
  'acceptance',
];

/** config.variables that --rate/--hold put over a scenario's own; empty for other families or without the flags. */
export function variablesFor(
  spec: ScenarioSpec,
  opts: Pick<RunOptions, 'rate' | 'hold'>,
): Record<string, unknown> {
  if (!THROUGHPUT_STYLE.includes(spec.family)) return {};
  return {
    ...(opts.rate !== undefined ? { ratePlan: String(opts.rate) } : {}),
    ...(opts.hold !== undefined ? { holdSeconds: opts.hold } : {}),
  };
}

/** The newest .cpuprofile node wrote into `dir`. */
function newestProfile(dir: string): string | undefined {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/**
 * A relay still draining a backlog (queued writes, buffered frames) would charge
 * its debt to the next scenario; wait until it has been idle for 2 s (at most 60 s).
 */
async function waitForIdle(pids: number[]): Promise<void> {
  const sampler = new GroupSampler(pids);
  sampler.sample();
  const deadline = Date.now() + 60_000;
  let quiet = 0;
  while (Date.now() < deadline && quiet < 2) {
    await new Promise((r) => setTimeout(r, 1000));
    const s = sampler.sample();
    if (!s) return;
    // Idle: under 10 % of a core per process.
    quiet = s.cpuPct < 10 * pids.length ? quiet + 1 : 0;
  }
  if (quiet < 2)
    console.log(
      'warning: the relay was still busy 60 s after the scenario ended; the next scenario starts anyway',
    );
}

/** The console line after each scenario. */
function resultLine(result: ScenarioResult): string {
  const verdict =
    result.status === 'error'
      ? 'ERROR'
      : result.informational
        ? 'INFO'
        : result.status === 'invalid'
          ? 'INVALID'
          : result.status === 'passed'
            ? 'PASS'
            : 'FAIL';
  return (
    `${verdict} ${result.name}: p95 ${result.latency?.p95 ?? '-'} ms, p99 ${result.latency?.p99 ?? '-'} ms, ` +
    `sent ${result.sentPerSec} msg/s, delivered ${result.deliveredPerSec}/s, lost ${result.frames.lost}` +
    (result.cluster
      ? `; p95 local ${result.cluster.local?.p95 ?? '-'} ms / across Redis ${result.cluster.cross?.p95 ?? '-'} ms`
      : '') +
    (result.error ? ` (${result.error})` : '') +
    (result.invalidReasons?.length ? ` (${result.invalidReasons.join('; ')})` : '')
  );
}

/** The relay to measure: the one at --target, or one the runner builds (if asked) and spawns. */
async function relayFor(
  opts: RunOptions,
  passDir: string,
  slowLog: MysqlSlowLog | undefined,
): Promise<{
  target: string;
  targets: string[];
  apiKey: string | undefined;
  relay?: RelayHandle;
  relayPids: number[];
  cluster?: { processes: number; redisPrefix: string };
}> {
  if (opts.target) {
    console.log(
      `Using the relay at ${opts.target}` +
        (opts.relayPid
          ? ` (sampling CPU/RSS of pid ${opts.relayPid})`
          : ' (not started by the runner: relay CPU/RSS are not sampled; see --relay-pid)'),
    );
    return {
      target: opts.target,
      targets: [opts.target],
      apiKey: process.env.API_KEY,
      relayPids: opts.relayPid ? [opts.relayPid] : [],
    };
  }
  if (opts.build) {
    console.log('Building the relay (pnpm build)...');
    buildRelay(REPO_ROOT);
  }
  await slowLog?.enable();
  if (opts.cluster && opts.redisUrl) {
    const cluster = await spawnCluster({
      size: opts.cluster,
      redisUrl: opts.redisUrl,
      redisPrefixBase: process.env.REDIS_PREFIX || undefined,
      repoRoot: REPO_ROOT,
      entry: opts.relayEntry,
      databaseUrl: opts.db,
      statsMode: opts.statsMode,
      logFile: passFiles.relayLog(passDir),
    });
    console.log(
      `Relay cluster of ${opts.cluster}: pids ${cluster.pids.join(', ')} on ${cluster.targets.join(', ')} ` +
        `(${cluster.dbProvider}, STATS_MODE=${opts.statsMode}, Redis prefix ${cluster.redisPrefix})`,
    );
    return {
      target: cluster.target,
      targets: cluster.targets,
      apiKey: cluster.apiKey,
      relay: cluster,
      relayPids: cluster.pids,
      cluster: { processes: opts.cluster, redisPrefix: cluster.redisPrefix },
    };
  }
  const relay = await spawnRelay({
    cpuProfDir: opts.cpuProf ? passDir : undefined,
    repoRoot: REPO_ROOT,
    entry: opts.relayEntry,
    databaseUrl: opts.db,
    statsMode: opts.statsMode,
    logFile: passFiles.relayLog(passDir),
  });
  console.log(
    `Relay pid ${relay.pid} on ${relay.target} (${relay.dbProvider}, STATS_MODE=${opts.statsMode})`,
  );
  return {
    target: relay.target,
    targets: [relay.target],
    apiKey: relay.apiKey,
    relay,
    relayPids: [relay.pid],
  };
}

/** The CPU profile the relay wrote on exit, summarised; null without --cpu-prof or when none was written. */
function cpuProfileOf(opts: RunOptions, passDir: string): { file: string; summary: ProfileSummary } | null {
  const profileFile = opts.cpuProf ? newestProfile(passDir) : undefined;
  if (profileFile) {
    console.log(`CPU profile: ${path.relative(process.cwd(), profileFile)} (opens in Chrome DevTools)`);
    return { file: path.basename(profileFile), summary: summarizeProfileFile(profileFile, 20) };
  }
  if (opts.cpuProf)
    console.log('warning: --cpu-prof was given but the relay wrote no .cpuprofile (did it exit cleanly?)');
  return null;
}

/**
 * Runs one pass into `passDir` (which must exist) and writes its run.json, report.md and
 * report.html; with --publish on a one-mode run, also the baseline document.
 */
export async function runPass(
  opts: RunOptions,
  argv: string[],
  runId: string,
  passDir: string,
  git: ReturnType<typeof gitInfo>,
): Promise<PassOutcome> {
  const scenarios = scenariosFor(opts.profile, opts.only);
  const sharedGates = applyOverrides(loadSharedGates(path.join(REPO_ROOT, COMMON_CONFIG)), opts.gates);
  // Enabled before the relay starts: long_query_time applies to connections opened afterwards.
  const slowLog = opts.slowLog && opts.db ? new MysqlSlowLog(opts.db, 50) : undefined;
  const { target, targets, apiKey, relay, relayPids, cluster } = await relayFor(opts, passDir, slowLog).catch(
    async (err: unknown) => {
      await slowLog?.collect(); // puts the server's slow-log settings back
      throw err;
    },
  );
  const meta = buildRunMeta({
    runId,
    argv,
    profile: opts.profile,
    only: opts.only,
    git,
    repoRoot: REPO_ROOT,
    target,
    relay: relay && {
      entry: opts.relayEntry,
      databaseUrl: relay.databaseUrl,
      dbProvider: relay.dbProvider,
      statsMode: opts.statsMode,
    },
    db: opts.db,
    gates: sharedGates,
    cluster: cluster && opts.redisUrl ? { ...cluster, redisUrl: opts.redisUrl } : undefined,
  });

  const results: ScenarioResult[] = [];
  let slow: SlowLogResult | null = null;
  try {
    for (const [i, spec] of scenarios.entries()) {
      const result = withGeneratorCheck(
        await runScenario({
          spec,
          index: i + 1,
          total: scenarios.length,
          profile: opts.profile,
          passDir,
          runId,
          target,
          targets: cluster ? targets : undefined,
          apiKey,
          relayPids,
          sharedGates,
          variables: variablesFor(spec, opts),
          generators: opts.generators,
        }),
      );
      results.push(result);
      console.log(resultLine(result));
      for (const w of result.warnings) console.log(`  warning: ${w}`);
      if (relayPids.length > 0 && i < scenarios.length - 1) await waitForIdle(relayPids);
    }
  } finally {
    if (relay) {
      const code = await relay.stop();
      if (code !== 0)
        console.log(
          `warning: relay exited with code ${code} on SIGTERM (expected 0); see ${passFiles.relayLog(passDir)}`,
        );
    }
    // Also when a scenario threw: collecting restores the server's slow-log settings.
    if (slowLog) slow = await slowLog.collect();
  }

  meta.finishedAt = new Date().toISOString();
  const cpuProfile = cpuProfileOf(opts, passDir);
  if (slow && !slow.available) console.log(`warning: ${slow.reason}`);
  const passed = results.length > 0 && results.every((r) => r.status === 'passed');
  const exitCode = exitCodeOf(results.map((r) => r.status));
  writeFileSync(
    passFiles.run(passDir),
    JSON.stringify({ meta, passed, exitCode, scenarios: results, cpuProfile, slowLog: slow }, null, 2),
  );
  renderRunReports(passDir);
  if (opts.publish && opts.modes.length === 1) publish('baseline', [passDir]);
  return { passDir, passed, exitCode, database: relay?.dbProvider ?? null, results };
}
