import { instrumentAdapter, type DbObserver } from '../monitoring/db-instrumentation';
import { maskUrl, type DbProvider } from './database-url';
import { dialectFor } from './dialects';
import type { Db } from './prisma';

export interface DbHandle {
  prisma: Db;
  provider: DbProvider;
  /** The URL with any password masked, for logs and reports. */
  displayUrl: string;
}

export interface DbOptions {
  url: string;
  poolSize?: number;
  sqliteJournalMode?: 'wal' | 'delete';
  sqliteBusyTimeoutMs?: number;
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
 * mode here. Defaults: 10 pooled connections (MySQL), WAL and a 5000 ms busy timeout (SQLite).
 * Throws an Error when `url` is not a `file:` or `mysql://` URL.
 */
export function createDb({
  url,
  poolSize = 10,
  observer,
  sqliteJournalMode = 'wal',
  sqliteBusyTimeoutMs = 5000,
}: DbOptions): DbHandle {
  const dialect = dialectFor(url);
  const prisma = dialect.openPrisma(url, {
    poolSize,
    sqliteJournalMode,
    sqliteBusyTimeoutMs,
    wrapAdapter: (adapter) => (observer ? instrumentAdapter(adapter, observer) : adapter),
  });
  return {
    prisma: observer ? withQueryTiming(prisma, observer) : prisma,
    provider: dialect.provider,
    displayUrl: maskUrl(url),
  };
}
