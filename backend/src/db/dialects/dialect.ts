import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DbProvider } from '../database-url';
import type { Db } from '../prisma';
import type { StatementRunner } from '../bulk/statement-runner';

/** SQL text with `?` placeholders and its parameters, in placeholder order. */
export interface Statement {
  sql: string;
  params: unknown[];
}

/** Where the bulk statements of the batched writers run (see bulk/statement-runner.ts). */
export interface BulkOptions {
  /** `thread`: a worker thread's own connection; `prisma`: Prisma's, on the event loop. */
  bulkWrites: 'thread' | 'prisma';
  sqliteBusyTimeoutMs: number;
}

export interface PrismaOptions {
  /** MySQL: connections in the pool. */
  poolSize: number;
  sqliteJournalMode: 'wal' | 'delete';
  /** SQLite: how long a statement waits for a lock before failing with SQLITE_BUSY. */
  sqliteBusyTimeoutMs: number;
  /** Wraps the driver adapter before Prisma gets it (statement counting); identity when unobserved. */
  wrapAdapter<F extends SqlDriverAdapterFactory>(adapter: F): F;
}

/** A plain driver connection, outside Prisma, for the migration runner. */
export interface SqlConnection {
  /** SQL for the current time at millisecond precision. */
  readonly now: string;
  run(sql: string, params?: unknown[]): Promise<void>;
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Releases the migration lock (MySQL) and closes the connection. */
  close(): Promise<void>;
}

/** One UPDATE of `table` from a list of value tuples, each matched to its row by key. */
export interface UpdateFromValues {
  table: string;
  /** The table's column matched against each tuple's first value. */
  key: string;
  /** Names of the tuple's values, key first (MySQL names the derived columns; SQLite numbers them). */
  columns: readonly string[];
  /** The tuples flattened: `columns.length` values per row, at least one row. */
  values: readonly unknown[];
  /**
   * The SET list. `target(column)` spells a column of the updated row, `value(i)` the tuple's
   * i-th value (0-based, in `columns` order).
   */
  set(target: (column: string) => string, value: (index: number) => string): string[];
  /** Parameters of the `?` placeholders in the SET list, in order. */
  setParams: readonly unknown[];
}

/** A multi-row INSERT: `values` holds `columns.length` values per row, at least one row. */
export interface InsertRows {
  table: string;
  columns: readonly string[];
  values: readonly unknown[];
}

/**
 * Everything that differs between the SQL databases the relay runs on: how Prisma and a plain
 * connection are opened, and the SQL they do not spell alike. Code above `db/` asks a dialect
 * instead of testing the provider.
 */
export interface Dialect {
  readonly provider: DbProvider;
  /** Prisma client on `url` through this database's driver adapter. Creating dirs/files: SQLite only. */
  openPrisma(url: string, options: PrismaOptions): Db;
  /**
   * A worker thread with a connection of its own for the batched writers' bulk statements, or
   * null when they go through Prisma (`bulkWrites: 'prisma'`; SQLite in memory, where another
   * connection would see another database).
   */
  openStatementRunner(url: string, options: BulkOptions): StatementRunner | null;
  /**
   * A connection for the migration runner. MySQL: holds a named lock (waits up to 60 s) so
   * several relay processes starting together migrate one at a time. Rejects if unreachable.
   */
  openMigrationConnection(url: string): Promise<SqlConnection>;
  /** `CREATE TABLE IF NOT EXISTS _prisma_migrations`, as `prisma migrate deploy` creates it. */
  readonly migrationsTableSql: string;
  updateFromValues(update: UpdateFromValues): Statement;
  /** One INSERT of every row (callers keep rows x columns under the bound-parameter limits). */
  insertRows(insert: InsertRows): Statement;
  /**
   * Deepest nesting of objects and arrays the JSON column stores (the reading itself counts
   * as 1). Deeper values are refused by the database or overflow the client's stack.
   */
  readonly maxJsonDepth: number;
  /**
   * Bytes of row data one INSERT may carry. MySQL drops the connection (ECONNRESET, which
   * looks like an outage) when a statement exceeds max_allowed_packet, so batches are cut to
   * this size and a row larger than it is never sent.
   */
  readonly maxStatementBytes: number;
  /**
   * True when a driver error code (Prisma's `originalCode`) says the database refused the
   * rows' data (constraint, too long, invalid JSON, packet too large); false for everything
   * else, which callers treat as the database being unavailable. See write-failure.ts.
   */
  refusesData(code: string): boolean;
}
