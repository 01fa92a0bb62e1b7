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
  const apiKey = randomBytes(18).toString('base64url');
  const log = createWriteStream(opts.logFile);
  const child = spawn(process.execPath, nodeArgs, {
    cwd: opts.repoRoot,
    env: {
      ...process.env,
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
