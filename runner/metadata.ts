/** Facts about the run that make its numbers comparable later: code, machine, runtime, database. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../backend/src/config';
import { maskUrl, providerOf } from '../backend/src/db/database-url';
import { latencyGateEntries, type EnsureConfig } from './gates';
import { engineWsLabel, engineWsVersion } from '../processors/lib/engine-socket';

export interface RunMeta {
  runId: string;
  command: string;
  profile: string;
  startedAt: string;
  finishedAt?: string;
  gitCommit: string;
  gitDirty: boolean;
  machine: { cpuModel: string; cpus: number; memoryGb: number; os: string; loadAvgAtStart?: number[] };
  nodeVersion: string;
  artilleryVersion: string;
  /**
   * The library of the throughput-style scenarios' VU sockets (processors/lib/engine-socket.ts):
   * `ws 8.x.y`, or Artillery's own ws 7 under RELAY_PERF_ENGINE_WS=7. Absent in runs before it
   * existed, which all used ws 7.
   */
  generatorSockets?: string;
  target: string;
  relayStartedByRunner: boolean;
  /** entry point the runner started (dist build or source via tsx) */
  relayEntry?: string;
  /**
   * Commit of the checkout holding the relay entry (absent in older runs): differs from
   * gitCommit when --relay-entry starts a build from another tree, e.g. an older commit's.
   */
  relayGitCommit?: string;
  dbProvider: string;
  databaseUrl: string;
  statsMode: string;
  /** Relay settings the runner's environment passed on to the relay it started (e.g. DB_POOL_SIZE). */
  relaySettings?: Record<string, string>;
  /** --cluster: how many relay processes, and the Redis they shared (password masked) */
  cluster?: { processes: number; redisUrl: string; redisPrefix: string };
  gates: Record<string, string>;
}

/** Set by the runner itself for every relay it starts; recorded elsewhere in RunMeta. */
const RUNNER_SET = new Set([
  'NODE_ENV',
  'PORT',
  'HOST',
  'DATABASE_URL',
  'API_KEY',
  'STATS_MODE',
  'LOG_LEVEL',
]);

/**
 * The relay inherits the runner's environment, so `DB_POOL_SIZE=4 pnpm test:performance` tunes it;
 * a report must say which settings its numbers were measured with.
 */
export function relaySettingsFrom(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    // URLs (REDIS_URL, ...) may carry a password: reports keep user and host only.
    if (!RUNNER_SET.has(key) && value !== undefined && value !== '') out[key] = maskUrl(value);
  }
  return out;
}

function git(repoRoot: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export function gitInfo(repoRoot: string): { commit: string; dirty: boolean } {
  const commit = git(repoRoot, ['rev-parse', '--short=12', 'HEAD']) ?? 'uncommitted';
  const status = git(repoRoot, ['status', '--porcelain']);
  return { commit, dirty: status === null ? false : status.length > 0 };
}

export function machineInfo(): RunMeta['machine'] {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    // Other work on the box skews every number; record how busy it was.
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function artilleryVersion(repoRoot: string): string {
  try {
    const pkg = JSON.parse(
      readFileSync(path.join(repoRoot, 'node_modules', 'artillery', 'package.json'), 'utf8'),
    ) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/**
 * RunMeta.generatorSockets for the environment the runner passes to Artillery. A value the
 * processor will refuse is recorded as such (the scenarios then stop with the processor's message).
 */
export function generatorSockets(raw = process.env.RELAY_PERF_ENGINE_WS): string {
  try {
    return engineWsLabel(engineWsVersion(raw));
  } catch {
    return `none: RELAY_PERF_ENGINE_WS="${raw}" is refused`;
  }
}

/** Keeps user and host, drops any password. */
export function redactDbUrl(url: string): string {
  return maskUrl(url);
}

export interface MetaInput {
  runId: string;
  /** the runner's own arguments, as typed */
  argv: string[];
  profile: string;
  only: string[];
  git: { commit: string; dirty: boolean };
  repoRoot: string;
  target: string;
  /** set when the runner started the relay itself */
  relay?: { entry: string; databaseUrl: string; dbProvider: string; statsMode: string };
  /** --db as given, for an external relay (may be absent) */
  db?: string;
  gates: EnsureConfig;
  cluster?: { processes: number; redisUrl: string; redisPrefix: string };
}

/** The metadata of one pass, at its start (finishedAt is set when it ends). */
export function buildRunMeta(i: MetaInput): RunMeta {
  const { relay } = i;
  return {
    runId: i.runId,
    command: ['pnpm test:performance', ...i.argv].join(' '),
    profile: i.only.length > 0 ? `${i.profile} (--only ${i.only.join(',')})` : i.profile,
    startedAt: new Date().toISOString(),
    gitCommit: i.git.commit,
    gitDirty: i.git.dirty,
    machine: machineInfo(),
    nodeVersion: process.version,
    artilleryVersion: artilleryVersion(i.repoRoot),
    generatorSockets: generatorSockets(),
    target: i.target,
    relayStartedByRunner: relay !== undefined,
    relayEntry: relay?.entry,
    relayGitCommit: relay
      ? (git(path.dirname(path.resolve(i.repoRoot, relay.entry)), ['rev-parse', '--short=12', 'HEAD']) ??
        undefined)
      : undefined,
    dbProvider: relay?.dbProvider ?? (i.db ? providerOf(i.db) : 'unknown (external relay)'),
    databaseUrl: redactDbUrl(relay?.databaseUrl ?? i.db ?? 'external'),
    statsMode: relay?.statsMode ?? 'unknown (external relay)',
    relaySettings: relay ? relaySettingsFrom(process.env) : undefined,
    ...(i.cluster ? { cluster: { ...i.cluster, redisUrl: maskUrl(i.cluster.redisUrl) } } : {}),
    gates: Object.fromEntries([
      ...latencyGateEntries(i.gates),
      ...i.gates.thresholds.map((t) => {
        const [k] = Object.keys(t);
        return [k, `< ${t[k]}`];
      }),
      ...i.gates.conditions.map((c, n) => [`condition ${n + 1}`, c.expression]),
    ]),
  };
}
