/**
 * Keeps process exit from stopping a writer thread inside better-sqlite3's native code.
 *
 * process.exit() terminates every worker thread. A thread terminated while a better-sqlite3
 * call runs finishes that call, and if the call ends in a SQLite error (SQLITE_BUSY, which every
 * attempt on a locked file ends in, or any other), the addon builds its SqliteError through V8
 * while the termination is pending; V8 refuses, the addon's ToLocalChecked() fails and the whole
 * process aborts (SIGABRT, "FATAL ERROR: v8::ToLocalChecked Empty MaybeLocal" from
 * Database::ThrowSqliteError) instead of exiting with its code. The relay's shutdown deadline
 * (process.exit(1) with the database locked) hit this now and then; a long statement that fails
 * hits it every time (exit-gate.test.ts).
 *
 * The gate is a handshake in shared memory between the two threads: the writer thread marks
 * itself inside before each native call and checks for a stop; the main thread's 'exit'
 * listener asks every live gate to stop and waits until its thread is outside. Both sides store
 * first and load second, on sequentially consistent atomics, so at least one of them sees the
 * other: either the thread does not enter, or the main thread waits for it to leave. A thread
 * that sees the stop parks in Atomics.wait, where the termination ends it cleanly.
 *
 * Cost per native call: two atomic stores, one load and one notify (no waiter: a few ns).
 */
import { performance } from 'node:perf_hooks';

/** Int32 cells of a gate's SharedArrayBuffer. */
const STOP = 0;
const INSIDE = 1;

/**
 * Longest time the exit waits for one native call to return, ms. Node's own join at exit waits
 * for the call anyway; the bound only keeps a thread that never leaves (a wedged call) from
 * holding the main thread here rather than there.
 */
export const EXIT_WAIT_MS = 10_000;

/** The shared memory of one gate: pass it to the thread in workerData. */
export function createGate(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
}

const live = new Set<Int32Array>();
let listening = false;

/**
 * Main thread: from now until `release()`, process exit waits for this gate's thread to be
 * outside native code, and keeps it out. Returns `release`, to call when the thread has exited.
 */
export function holdExitFor(gate: SharedArrayBuffer): () => void {
  const cells = new Int32Array(gate);
  live.add(cells);
  if (!listening) {
    listening = true;
    process.on('exit', () => closeGates(EXIT_WAIT_MS));
  }
  return () => live.delete(cells);
}

/**
 * Stops every live gate and waits, blocking, until each thread is outside native code or
 * `waitMs` has passed in all. Returns how many threads were still inside at the end (0 normally).
 */
export function closeGates(waitMs: number): number {
  for (const cells of live) Atomics.store(cells, STOP, 1);
  const until = performance.now() + waitMs;
  let inside = 0;
  for (const cells of live) {
    for (;;) {
      if (Atomics.load(cells, INSIDE) === 0) break;
      const left = until - performance.now();
      if (left <= 0) {
        inside++;
        break;
      }
      Atomics.wait(cells, INSIDE, 1, left);
    }
  }
  return inside;
}

/**
 * Writer thread: runs `call` (a better-sqlite3 call) marked inside the gate. If the process is
 * exiting, it does not run it and parks the thread until the termination ends it.
 */
export function throughGate<T>(gate: SharedArrayBuffer | Int32Array, call: () => T): T {
  const cells = gate instanceof Int32Array ? gate : new Int32Array(gate);
  Atomics.store(cells, INSIDE, 1);
  if (Atomics.load(cells, STOP) !== 0) {
    leave(cells);
    // Returns only if something rewrote STOP, which nothing does: the termination ends the thread here.
    for (;;) Atomics.wait(cells, STOP, 1);
  }
  try {
    return call();
  } finally {
    leave(cells);
  }
}

function leave(cells: Int32Array): void {
  Atomics.store(cells, INSIDE, 0);
  Atomics.notify(cells, INSIDE);
}
