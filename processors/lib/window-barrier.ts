/**
 * One send window for all generator processes of a --generators run (and for the plain driver
 * beside the pack in scripts/compare-pack-plain.ts --paired, which takes part as one more
 * "generator": scripts/plain-ws-driver.ts --window-dir).
 *
 * Each process starts its window at its own first connection + ramp + settle, and Artillery's
 * start-up differs by seconds between processes on a loaded machine: the windows would be
 * offset and the relay would see less than the aggregate rate at both ends. So each process
 * publishes its own candidate start in the directory all of them share (the latency
 * directory) and every process starts at the latest candidate. The wait happens while the
 * connections are open and idle anyway (before the window), once per process.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PREFIX = 'window-g';
const POLL_MS = 50;

/** The latest of the candidates, or null until all `generators` have published one. */
export function agreedStart(candidates: ReadonlyMap<number, number>, generators: number): number | null {
  if (candidates.size < generators) return null;
  return Math.max(...candidates.values());
}

/** Candidates published in `dir` (index -> epoch ms); unreadable or partial files are skipped (read again next poll). */
export function readCandidates(dir: string): Map<number, number> {
  const out = new Map<number, number>();
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(PREFIX));
  } catch {
    return out;
  }
  for (const name of names) {
    const index = Number(name.slice(PREFIX.length));
    try {
      const at = Number(readFileSync(path.join(dir, name), 'utf8'));
      if (Number.isInteger(index) && Number.isFinite(at) && at > 0) out.set(index, at);
    } catch {
      // written by another process right now
    }
  }
  return out;
}

/**
 * Publishes this generator's candidate start (epoch ms) and resolves with the agreed start once
 * every generator has published. The first call of a process publishes; later calls (other VUs)
 * share the answer. Rejects after `timeoutMs` with the generators still missing, so a generator
 * that never started fails the run instead of hanging it.
 */
export function makeWindowBarrier(
  dir: string,
  index: number,
  generators: number,
  timeoutMs = 120_000,
): (candidate: number) => Promise<number> {
  let agreed: Promise<number> | undefined;
  return (candidate: number): Promise<number> => {
    agreed ??= new Promise<number>((resolve, reject) => {
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${PREFIX}${index}`);
      // Written whole under a temporary name, then renamed: readers never see half a number.
      const tmp = path.join(dir, `.${PREFIX}${index}.tmp`);
      writeFileSync(tmp, String(candidate));
      renameSync(tmp, file);
      const deadline = Date.now() + timeoutMs;
      const poll = () => {
        const seen = readCandidates(dir);
        const at = agreedStart(seen, generators);
        if (at !== null) return resolve(at);
        if (Date.now() > deadline) {
          const missing = Array.from({ length: generators }, (_x, i) => i).filter((i) => !seen.has(i));
          return reject(
            new Error(
              `generator ${index}: generators ${missing.join(', ')} never published a send window start`,
            ),
          );
        }
        setTimeout(poll, POLL_MS);
      };
      poll();
    });
    return agreed;
  };
}

let threadBarrier: ((candidate: number) => Promise<number>) | undefined;

/**
 * The send window's start (epoch ms) for a VU of this thread: `ownStart` (its thread's first
 * connection + ramp + settle) with one generator process; under --generators
 * (`slice.generators` > 1) the latest of all processes' own starts, agreed through the latency
 * directory they share (RELAY_PERF_HDR_DIR, else `vars.latencyDir`), so the relay sees the
 * aggregate rate. Without a directory each process keeps its own start. Rejects as
 * makeWindowBarrier does. Used by both processors (relay.ts, connections.ts).
 */
export function sharedWindowStart(
  vars: Record<string, unknown>,
  slice: { index: number; generators: number },
  ownStart: number,
): Promise<number> {
  const dir = process.env.RELAY_PERF_HDR_DIR || vars.latencyDir;
  if (slice.generators === 1 || typeof dir !== 'string') return Promise.resolve(ownStart);
  threadBarrier ??= makeWindowBarrier(dir, slice.index, slice.generators);
  return threadBarrier(ownStart);
}
