/** Builds the relay under test, spawns it as a child process (with a fresh database unless given one) and stops it cleanly. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { providerOf } from '../backend/src/db/database-url';
import { onInterrupt } from './cleanup';

export interface RelayHandle {
  target: string;
  apiKey: string;
  pid: number;
  databaseUrl: string;
  dbProvider: string;
  stop(): Promise<number | null>;
}

export function buildRelay(repoRoot: string): void {
  const res = spawnSync('pnpm', ['build'], { cwd: repoRoot, stdio: 'inherit' });
  if (res.status !== 0)
    throw new Error(
      `pnpm build failed (exit ${res.status ?? res.signal}); fix the backend build or pass --no-build`,
    );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(base: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`relay exited with code ${child.exitCode} before becoming healthy`);
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 200) return;
      lastError = `${res.status} ${body.slice(0, 200)}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `relay did not report healthy at ${base}/health within ${timeoutMs} ms (last: ${lastError})`,
  );
}

/**
 * Spawns the relay (`node <entry>`, or `node --import tsx <entry>` for a .ts entry) on a free
 * port with a fresh API key and waits until /health answers 200 (at most 60 s). The child
 * inherits the runner's environment. Throws when the entry is missing or the relay never gets
 * healthy (it is then killed).
 */
export async function spawnRelay(opts: {
  repoRoot: string;
  entry: string;
  databaseUrl?: string;
  statsMode: string;
  logFile: string;
  /** Write a V8 CPU profile of the relay into this directory when it exits. */
  cpuProfDir?: string;
  /** the key the relay requires (default: a fresh random one) */
  apiKey?: string;
  /** more environment over the runner's (e.g. REDIS_URL for a cluster member) */
  env?: Record<string, string>;
}): Promise<RelayHandle> {
  const entry = path.resolve(opts.repoRoot, opts.entry);
  if (!existsSync(entry)) throw new Error(`${opts.entry} not found: run \`pnpm build\` (or drop --no-build)`);
  const profArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const nodeArgs = [...profArgs, ...(entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry])];

  // A fresh SQLite file per run unless the caller chose a database.
  let tempDir: string | undefined;
  let databaseUrl = opts.databaseUrl;
  if (!databaseUrl) {
    tempDir = mkdtempSync(path.join(tmpdir(), 'relay-perf-'));
    databaseUrl = `file:${path.join(tempDir, 'relay.db')}`;
  }
  const port = await freePort();
  const apiKey = opts.apiKey ?? randomBytes(18).toString('base64url');
  const log = createWriteStream(opts.logFile);
  const child = spawn(process.execPath, nodeArgs, {
    cwd: opts.repoRoot,
    env: {
      ...process.env,
      ...opts.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      API_KEY: apiKey,
      STATS_MODE: opts.statsMode,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const forget = onInterrupt(async () => {
    child.kill('SIGTERM');
    await exited;
    cleanup();
  });

  const cleanup = () => {
    log.end();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  };

  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(base, child, 60_000);
  } catch (err) {
    forget();
    child.kill('SIGKILL');
    await exited;
    cleanup();
    throw new Error(`${(err as Error).message}; relay log: ${opts.logFile}`);
  }

  return {
    target: `ws://127.0.0.1:${port}`,
    apiKey,
    pid: child.pid ?? -1,
    databaseUrl,
    dbProvider: providerOf(databaseUrl),
    async stop() {
      forget();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        cleanup();
        return code;
      }
      cleanup();
      return child.exitCode;
    },
  };
}

/** Relay processes acting as one relay over Redis (`--cluster N`). */
export interface RelayCluster extends RelayHandle {
  /** one ws:// URL per process, in start order (`target` is the first) */
  targets: string[];
  /** one pid per process, same order (`pid` is the first) */
  pids: number[];
  /** REDIS_PREFIX the processes share (unique per cluster, so runs sharing a Redis never mix) */
  redisPrefix: string;
  /** SIGTERM to every process; resolves with their exit codes in start order. */
  stopAll(): Promise<(number | null)[]>;
}

/** `relay.log` -> `relay-1.log`, `relay-2.log`, ... (1-based, as the reports number processes). */
export function memberLogFile(logFile: string, index: number): string {
  return logFile.replace(/(\.log)?$/, `-${index + 1}.log`);
}

/**
 * Starts `size` relay processes on one DATABASE_URL (a fresh SQLite file unless given) and one
 * REDIS_URL, each on its own port with the same API key. The first starts alone and applies
 * the migrations before it answers /health; the others start together after it and find the
 * schema current, so migrations run once. Throws (after stopping what started) when any
 * process does not get healthy within 60 s.
 */
export async function spawnCluster(opts: {
  size: number;
  redisUrl: string;
  /** REDIS_PREFIX base; a random tag is appended per cluster */
  redisPrefixBase?: string;
  repoRoot: string;
  entry: string;
  databaseUrl?: string;
  statsMode: string;
  /** relay.log: process i logs to relay-<i+1>.log beside it */
  logFile: string;
}): Promise<RelayCluster> {
  let tempDir: string | undefined;
  let databaseUrl = opts.databaseUrl;
  if (!databaseUrl) {
    tempDir = mkdtempSync(path.join(tmpdir(), 'relay-perf-cluster-'));
    databaseUrl = `file:${path.join(tempDir, 'relay.db')}`;
  }
  const apiKey = randomBytes(18).toString('base64url');
  const redisPrefix = `${opts.redisPrefixBase ?? 'relay-perf:'}${randomBytes(4).toString('hex')}:`;
  const start = (i: number) =>
    spawnRelay({
      repoRoot: opts.repoRoot,
      entry: opts.entry,
      databaseUrl,
      statsMode: opts.statsMode,
      logFile: memberLogFile(opts.logFile, i),
      apiKey,
      env: { REDIS_URL: opts.redisUrl, REDIS_PREFIX: redisPrefix },
    });
  const members: RelayHandle[] = [];
  const stopAll = async () => {
    const codes = await Promise.all(members.map((m) => m.stop()));
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    return codes;
  };
  try {
    members.push(await start(0));
    const rest = await Promise.allSettled(Array.from({ length: opts.size - 1 }, (_x, i) => start(i + 1)));
    for (const r of rest) if (r.status === 'fulfilled') members.push(r.value);
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await stopAll();
    throw err;
  }
  const first = members[0];
  return {
    target: first.target,
    apiKey,
    pid: first.pid,
    databaseUrl,
    dbProvider: first.dbProvider,
    targets: members.map((m) => m.target),
    pids: members.map((m) => m.pid),
    redisPrefix,
    stopAll,
    async stop() {
      const codes = await stopAll();
      return codes.find((c) => c !== 0) ?? 0;
    },
  };
}
