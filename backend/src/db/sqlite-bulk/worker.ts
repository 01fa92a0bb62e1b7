/**
 * The thread of SqliteWorkerRunner: its own better-sqlite3 connection to the relay's database
 * file, running the statements the main thread posts, one at a time, in order. better-sqlite3
 * is synchronous, so a statement run here holds this thread, not the relay's event loop.
 *
 * In:  { id: number, sql: string, params: unknown[] }      (params already in SQLite's types)
 * Out: { id, changes: number } | { id, error: { message, code? } }
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

interface Options {
  file: string;
  busyTimeoutMs: number;
}

const { file, busyTimeoutMs } = workerData as Options;
const db = new Database(file, { timeout: busyTimeoutMs });
// Prisma's connection enforces foreign keys; this one must refuse the same rows.
db.pragma('foreign_keys = ON');

// A batch of n rows is one SQL text per n: keep the few sizes a writer uses prepared.
const prepared = new Map<string, Database.Statement>();
const MAX_PREPARED = 16;

function statement(sql: string): Database.Statement {
  let stmt = prepared.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    if (prepared.size >= MAX_PREPARED) prepared.delete(prepared.keys().next().value as string);
    prepared.set(sql, stmt);
  }
  return stmt;
}

parentPort!.on('message', (msg: { id: number; sql: string; params: unknown[] } | 'close') => {
  if (msg === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    const { changes } = statement(msg.sql).run(...msg.params);
    parentPort!.postMessage({ id: msg.id, changes });
  } catch (err) {
    const e = err as { message?: string; code?: unknown };
    parentPort!.postMessage({
      id: msg.id,
      error: { message: String(e.message ?? err), code: typeof e.code === 'string' ? e.code : undefined },
    });
  }
});
