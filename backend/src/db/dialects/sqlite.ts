import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { PrismaClient } from '../../generated/sqlite/client';
import { WorkerRunner } from '../bulk/worker-runner';
import type { BulkOptions, Dialect, PrismaOptions, SqlConnection, UpdateFromValues } from './dialect';
import { insertRowsStatement } from './insert-rows';

/** The database file a `file:` URL names, its directory created; `:memory:` is left as is. */
function databaseFile(url: string): string {
  const file = url.replace(/^file:/, '');
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return file;
}

/**
 * A parameter as Prisma's SQLite adapter would bind it (its mapArg): booleans as 0/1, DateTime
 * as `toISOString()` with `+00:00` for `Z` (its default `iso8601` timestampFormat). Rows written
 * around Prisma must match, or Prisma reads them back wrong and comparisons see other text.
 */
export function sqliteParam(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace('Z', '+00:00');
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** The journal mode is stored in the database file, so setting it once before Prisma opens it holds. */
function setJournalMode(file: string, mode: 'wal' | 'delete'): void {
  const db = new Database(file);
  try {
    db.pragma(`journal_mode = ${mode}`);
  } finally {
    db.close();
  }
}

export const sqlite: Dialect = {
  provider: 'sqlite',

  openPrisma(url: string, { sqliteJournalMode, sqliteBusyTimeoutMs, wrapAdapter }: PrismaOptions) {
    const file = databaseFile(url);
    if (file !== ':memory:') setJournalMode(file, sqliteJournalMode);
    const adapter = new PrismaBetterSqlite3({ url, timeout: sqliteBusyTimeoutMs });
    return new PrismaClient({ adapter: wrapAdapter(adapter) });
  },

  openStatementRunner(url: string, { bulkWrites, sqliteBusyTimeoutMs }: BulkOptions) {
    const file = databaseFile(url);
    if (file === ':memory:' || bulkWrites === 'prisma') return null;
    return new WorkerRunner({ kind: 'sqlite', file, busyTimeoutMs: sqliteBusyTimeoutMs }, sqliteParam);
  },

  async openMigrationConnection(url: string): Promise<SqlConnection> {
    // Several relay processes (PM2 cluster) may start together on one file: the first takes the
    // write lock for the whole run, the others wait for it and then find everything applied.
    const db = new Database(databaseFile(url), { timeout: 60_000 });
    db.exec('BEGIN EXCLUSIVE');
    return {
      now: "strftime('%Y-%m-%d %H:%M:%f', 'now')",
      run: async (sql, params = []) => void db.prepare(sql).run(...params),
      rows: async <T>(sql: string, params: unknown[] = []) => db.prepare(sql).all(...params) as T[],
      close: async () => {
        // Committed even after a failed statement: like MySQL (no transactional DDL), what ran
        // stays, and the failed migration's row with its log tells the operator.
        if (db.inTransaction) db.exec('COMMIT');
        db.close();
      },
    };
  },

  migrationsTableSql: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`,

  /**
   * UPDATE ... FROM (SQLite 3.33+) over a VALUES list, whose columns SQLite names column1..N;
   * a VALUES list is not bound by the 500-term compound-SELECT limit.
   */
  updateFromValues({ table, key, columns, values, set, setParams }: UpdateFromValues) {
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    const rows = Array.from({ length: values.length / columns.length }, () => tuple).join(', ');
    const assignments = set(
      (column) => `\`${column}\``,
      (i) => `d.column${i + 1}`,
    );
    return {
      sql:
        `UPDATE \`${table}\` SET ${assignments.join(', ')} ` +
        `FROM (VALUES ${rows}) AS d WHERE \`${table}\`.\`${key}\` = d.column1`,
      params: [...setParams, ...values],
    };
  },

  insertRows: insertRowsStatement,

  // SQLite's json() refuses nesting deeper than 1000; the column is TEXT and would take more,
  // but the reading could then not be queried with SQLite's JSON functions.
  maxJsonDepth: 1000,

  // Far below SQLITE_MAX_LENGTH (1e9); bounds the memory one statement holds.
  maxStatementBytes: 64 * 2 ** 20,

  // Constraint failures (SQLITE_CONSTRAINT_*), a value over SQLITE_MAX_LENGTH, a type
  // mismatch; SQLITE_BUSY/LOCKED/FULL/IOERR/READONLY/CANTOPEN are the database, not the rows.
  refusesData: (code) =>
    code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH',
};
