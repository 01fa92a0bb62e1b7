import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from './databases';

/**
 * The relay runs as `node --import tsx`, one process, not under the `tsx` CLI: that CLI is a
 * parent process that relays SIGTERM to its child and, when the child has not acknowledged it
 * within 30 ms, SIGKILLs it and exits 143 (tsx's relaySignals). On a loaded machine that turned a
 * graceful shutdown into an exit 143 in the shutdown and config tests.
 */
const TSX_LOADER = ['--import', 'tsx'];
export const MAIN = path.join(REPO_ROOT, 'backend/src/main.ts');

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RelayProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `command` with exactly `env` (plus PATH/HOME) in the repository, capturing its output. */
export function spawnProcess(command: string, args: string[], env: Record<string, string>): RelayProcess {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs `node --import tsx backend/src/main.ts` with exactly the given environment (plus PATH/HOME). */
export function spawnRelay(env: Record<string, string>): RelayProcess {
  return spawnProcess(process.execPath, [...TSX_LOADER, MAIN], env);
}

/** Polls /health until 200 (or the process dies / the deadline passes). */
export async function waitHealthy(port: number, proc: RelayProcess, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void proc.exited.then(() => (dead = true));
  while (Date.now() < deadline && !dead) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `relay on ${port} not healthy (exited: ${dead}); stderr: ${proc.stderr().slice(-2000)} stdout: ${proc.stdout().slice(-2000)}`,
  );
}

/** Resolves with `p`, or rejects after `ms`; the timer never outlives the race. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
