import { verbOf, type DbObserver } from '../../monitoring/db-instrumentation';
import type { Statement } from '../dialects/dialect';
import type { Db } from '../prisma';

/** What a statement did: rows changed, and for an INSERT into a table with an auto-increment key the key of its (first) row. */
export interface RunResult {
  changes: number;
  /** Set only by runners that can report it (`insertIds`); Prisma's raw API cannot. */
  insertId?: number;
}

/**
 * Runs the batched mode's write statements (device-data batches, alert rows). Two drivers:
 * Prisma's raw API on the relay's own connection, and WorkerRunner, a connection of its own on a
 * worker thread, so a statement's cost is not paid on the event loop that forwards frames.
 */
export interface StatementRunner {
  /** Whether `run` reports `insertId` (a single-row INSERT then needs no read-back). */
  readonly insertIds: boolean;
  /** Runs `statement`; resolves with what it did, rejects with the driver's error. */
  run(statement: Statement): Promise<RunResult>;
  /**
   * Waits for statements already posted, then releases the connection; past `deadlineMs`
   * (default: none) it stops waiting and fails what is left. Idempotent.
   */
  close(deadlineMs?: number): Promise<void>;
}

/** Runs statements through Prisma's `$executeRawUnsafe` (counted by the adapter's instrumentation). */
export function prismaRunner(prisma: Db): StatementRunner {
  return {
    insertIds: false,
    run: async ({ sql, params }) => ({ changes: await prisma.$executeRawUnsafe(sql, ...params) }),
    close: async () => undefined,
  };
}

/** The table an INSERT writes (`INSERT INTO \`Alert\` ...` -> Alert); null for other statements. */
export const insertTableOf = (sql: string): string | null =>
  /^\s*INSERT\s+INTO\s+[`"]?(\w+)/i.exec(sql)?.[1] ?? null;

/**
 * What the worker's statements report to /metrics: each counts as a statement by verb (INSERT),
 * as Prisma's do, and its time as a DB operation labelled by table, operation `threadInsert`
 * (e.g. `DeviceData.threadInsert`, `Alert.threadInsert`), so reports tell these writes apart
 * from the stats flush (`raw.$executeRawUnsafe`) and from Prisma's own model operations.
 */
export function observeRunner(runner: StatementRunner, observer: DbObserver): StatementRunner {
  return {
    insertIds: runner.insertIds,
    async run(statement) {
      observer.statement(verbOf(statement.sql));
      const started = performance.now();
      let failed = false;
      try {
        return await runner.run(statement);
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        const table = insertTableOf(statement.sql);
        const seconds = (performance.now() - started) / 1000;
        observer.query(table ?? 'raw', table ? 'threadInsert' : 'threadStatement', seconds, failed);
      }
    },
    close: (deadlineMs) => runner.close(deadlineMs),
  };
}
