import { instrumentAdapter, type DbObserver } from '../monitoring/db-instrumentation';
import { maskUrl, type DbProvider } from './database-url';
import { dialectFor } from './dialects';
import type { Db } from './prisma';
import { observeRunner, prismaRunner, type StatementRunner } from './bulk/statement-runner';

export interface DbHandle {
  prisma: Db;
  provider: DbProvider;
  /** The URL with any password masked, for logs and reports. */
  displayUrl: string;
  /** Runs the batched writers' statements (stats UPDATEs, device-data and alert INSERTs): the writer thread's own connection (BULK_WRITES=thread), else Prisma. */
  statements: StatementRunner;
  /** Closes the statement runner (after the writers' drain: waiting at most `deadlineMs` for its statements, default no limit), then Prisma. */
  close(deadlineMs?: number): Promise<void>;
}

export interface DbOptions {
  url: string;
  poolSize?: number;
  sqliteJournalMode?: 'wal' | 'delete';
  sqliteBusyTimeoutMs?: number;
  /** Batched writers' INSERTs on a worker thread's own connection (default) or through Prisma. */
  bulkWrites?: 'thread' | 'prisma';
  /** Sees every Prisma operation (with its duration) and every SQL statement sent. */
  observer?: DbObserver;
}

/** Times every operation, raw queries included (they arrive with no model). */
function withQueryTiming(prisma: Db, observer: DbObserver): Db {
  return prisma.$extends({
    query: {
      async $allOperations({ model, operation, args, query }) {
        const start = performance.now();
        let failed = false;
        try {
          return await query(args);
        } catch (err) {
          failed = true;
          throw err;
        } finally {
          observer.query(model ?? 'raw', operation, (performance.now() - start) / 1000, failed);
        }
      },
    },
  }) as unknown as Db;
}

/**
 * Opens Prisma on `url` through the dialect it names (see `dialects/`). Lazy: nothing connects
 * until the first query, except that SQLite creates the file's directory and sets its journal
 * mode here. Defaults: 10 pooled connections (MySQL), WAL and a 5000 ms busy timeout (SQLite),
 * the batched writers' INSERTs on a worker thread (both; none starts before the first INSERT).
 * Throws an Error when `url` is not a `file:` or `mysql://` URL.
 */
export function createDb({
  url,
  poolSize = 10,
  observer,
  sqliteJournalMode = 'wal',
  sqliteBusyTimeoutMs = 5000,
  bulkWrites = 'thread',
}: DbOptions): DbHandle {
  const dialect = dialectFor(url);
  const prisma = dialect.openPrisma(url, {
    poolSize,
    sqliteJournalMode,
    sqliteBusyTimeoutMs,
    wrapAdapter: (adapter) => (observer ? instrumentAdapter(adapter, observer) : adapter),
  });
  const observed = observer ? withQueryTiming(prisma, observer) : prisma;
  const own = dialect.openStatementRunner(url, { bulkWrites, sqliteBusyTimeoutMs });
  // Prisma's runner is counted by the adapter's instrumentation; a connection of our own is not.
  const statements = own ? (observer ? observeRunner(own, observer) : own) : prismaRunner(observed);
  return {
    prisma: observed,
    provider: dialect.provider,
    displayUrl: maskUrl(url),
    statements,
    close: async (deadlineMs) => {
      await statements.close(deadlineMs);
      await observed.$disconnect();
    },
  };
}
