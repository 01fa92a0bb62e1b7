/** Facts about the run that make its numbers comparable later: code, machine, runtime, database. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
  gates: Record<string, string>;
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
  return url.replace(/^(\w+:\/\/[^:/@]+):[^@]*@/, '$1:***@');
}
