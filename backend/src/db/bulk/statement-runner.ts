import { verbOf, type DbObserver } from '../../monitoring/db-instrumentation';
import type { Statement } from '../dialects/dialect';
import type { Db } from '../prisma';

/**
 * Runs the batched writers' bulk statements (multi-row INSERTs). Two drivers: Prisma's raw API
 * on the relay's own connection (MySQL, and SQLite in memory), and SqliteWorkerRunner, a
 * connection of its own on a worker thread (SQLite files), so a statement's cost is not paid
 * on the event loop that forwards frames.
 */
export interface StatementRunner {
  /** Runs `statement`; resolves with the rows it changed, rejects with the driver's error. */
  run(statement: Statement): Promise<number>;
  /** Waits for statements already posted, then releases the connection. Idempotent. */
  close(): Promise<void>;
}

/** Runs statements through Prisma's `$executeRawUnsafe` (counted by the adapter's instrumentation). */
export function prismaRunner(prisma: Db): StatementRunner {
  return {
    run: ({ sql, params }) => prisma.$executeRawUnsafe(sql, ...params),
    close: async () => undefined,
  };
}

/**
 * What the worker's statements report to /metrics, under the labels the same statement gets
 * when it goes through Prisma (verb INSERT; model "raw", operation $executeRawUnsafe), so
 * statement counts and DB time mean the same with either runner.
 */
export function observeRunner(runner: StatementRunner, observer: DbObserver): StatementRunner {
  return {
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
        observer.query('raw', '$executeRawUnsafe', (performance.now() - started) / 1000, failed);
      }
    },
    close: () => runner.close(),
  };
}
