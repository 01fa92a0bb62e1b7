/**
 * The thread of WorkerRunner: a database connection of its own (better-sqlite3 on the relay's
 * SQLite file, or one MariaDB-driver connection to MySQL), running the statements the main
 * thread posts one at a time, in order. The statement's cost (the driver building it, and for
 * SQLite running it, synchronously) is paid here, not on the relay's event loop.
 *
 * In:  { id, sql, params }   (params already in the driver's types) | 'close'
 * Out: { id, result: { changes, insertId } } | { id, error: { message, code? } }
 *      (insertId: an inserted row's key, read for single-row inserts; code: SQLite's SQLITE_*, MySQL's errno)
 */
import type Database from 'better-sqlite3';
import * as mariadb from 'mariadb';
import { parentPort, workerData } from 'node:worker_threads';
import { throughGate } from './exit-gate';
import type { WorkerTarget } from './worker-runner';

interface Driver {
  run(sql: string, params: unknown[]): Promise<{ changes: number; insertId: number }>;
  close(): Promise<void>;
}

/** Longest single sleep between attempts on a locked SQLite database, ms. */
const BUSY_SLICE_MS = 5;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/**
 * The busy timeout is kept here, in JavaScript, and SQLite's own is 0: SQLite's busy handler
 * sleeps inside better-sqlite3's native call, and process exit (as at the shutdown deadline)
 * must wait for a thread to leave the addon (exit-gate.ts: a thread terminated there aborts the
 * process with SIGABRT when its call fails). Here the thread waits between attempts in
 * Atomics.wait, where a termination ends it cleanly, and spends only the attempt itself
 * (microseconds on a locked file) inside the addon, so the exit waits microseconds, not up to
 * the busy timeout. A statement that is refused for busyTimeoutMs fails with SQLite's
 * SQLITE_BUSY, as before.
 */
function sqliteDriver(file: string, busyTimeoutMs: number, gate: Int32Array): Driver {
  // Every call into the addon goes through the exit gate (exit-gate.ts): a thread stopped by
  // process exit while one runs aborts the process when the call fails.
  // Loading the addon is such a call too, hence no top-level import.
  const Sqlite = throughGate(gate, () => require('better-sqlite3') as typeof Database);
  const db = throughGate(gate, () => new Sqlite(file, { timeout: 0 }));
  // Prisma's connection enforces foreign keys; this one must refuse the same rows.
  throughGate(gate, () => db.pragma('foreign_keys = ON'));
  // A batch of n rows is one SQL text per n: keep the few sizes a writer uses prepared.
  const prepared = new Map<string, Database.Statement>();
  const attempt = (sql: string, params: unknown[]) => {
    // Preparing reads the schema, which a lock holder can refuse too: inside the retry.
    let stmt = prepared.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (prepared.size >= 16) prepared.delete(prepared.keys().next().value as string);
      prepared.set(sql, stmt);
    }
    const { changes, lastInsertRowid } = stmt.run(...params);
    return { changes, insertId: Number(lastInsertRowid) };
  };
  return {
    run: async (sql, params) => {
      const deadline = performance.now() + busyTimeoutMs;
      for (;;) {
        try {
          return throughGate(gate, () => attempt(sql, params));
        } catch (err) {
          // An autocommit statement refused with SQLITE_BUSY changed nothing: trying it again is safe.
          const left = deadline - performance.now();
          if (!isBusy(err) || left <= 0) throw err;
          Atomics.wait(sleepCell, 0, 0, Math.min(BUSY_SLICE_MS, left));
        }
      }
    },
    close: async () => void throughGate(gate, () => db.close()),
  };
}

function mysqlDriver(options: mariadb.PoolConfig): Driver {
  // A pool of one: it reconnects after the server went away, which a bare connection does not.
  const pool = mariadb.createPool({ ...options, connectionLimit: 1 });
  return {
    run: async (sql, params) => {
      const res = await pool.query<{ affectedRows: number; insertId: bigint | number }>(sql, params);
      // MySQL reports the first row's key of a multi-row INSERT, SQLite the last: only
      // single-row inserts read it.
      return { changes: Number(res.affectedRows), insertId: Number(res.insertId) };
    },
    close: () => pool.end(),
  };
}

const { target, gate } = workerData as { target: WorkerTarget; gate: SharedArrayBuffer };
const driver =
  target.kind === 'sqlite'
    ? sqliteDriver(target.file, target.busyTimeoutMs, new Int32Array(gate))
    : mysqlDriver(target.options);

// Messages arrive while a statement awaits (MySQL): chain them so they run in the order posted.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (msg: { id: number; sql: string; params: unknown[] } | 'close') => {
  queue = queue.then(async () => {
    if (msg === 'close') {
      await driver.close().catch(() => undefined);
      parentPort!.close();
      return;
    }
    try {
      parentPort!.postMessage({ id: msg.id, result: await driver.run(msg.sql, msg.params) });
    } catch (err) {
      const e = err as { message?: string; code?: unknown; errno?: unknown };
      const code =
        typeof e.errno === 'number' ? String(e.errno) : typeof e.code === 'string' ? e.code : undefined;
      parentPort!.postMessage({ id: msg.id, error: { message: String(e.message ?? err), code } });
    }
  });
});
