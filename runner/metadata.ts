/** Facts about the run that make its numbers comparable later: code, machine, runtime, database. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../backend/src/config';
import { maskUrl } from '../backend/src/db/database-url';

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
  target: string;
  relayStartedByRunner: boolean;
  /** entry point the runner started (dist build or source via tsx) */
  relayEntry?: string;
  dbProvider: string;
  databaseUrl: string;
  statsMode: string;
  /** Relay settings the runner's environment passed on to the relay it started (e.g. DB_POOL_SIZE). */
  relaySettings?: Record<string, string>;
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
    if (!RUNNER_SET.has(key) && value !== undefined && value !== '') out[key] = value;
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

/** Keeps user and host, drops any password. */
export function redactDbUrl(url: string): string {
  return maskUrl(url);
}
