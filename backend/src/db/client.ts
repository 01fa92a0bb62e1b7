import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client';
import { PrismaClient as MysqlClient } from '../generated/mysql/client';
import { dbProvider, type DbProvider } from '../config';
import { mysqlConnectionOptions } from './mysql-url';
import { instrumentAdapter, type DbObserver } from '../monitoring/db-instrumentation';

/**
 * Both generated clients come from the same models (prisma/models.prisma), so their model
 * APIs are the same; the SQLite client's type stands for either.
 */
export type Db = SqliteClient;
export { Prisma } from '../generated/sqlite/client';

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

export function maskUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** A `mysql://` URL as the MariaDB driver's pool config; the driver itself wants `mariadb://`. */
function mariaDbConfig(url: string, poolSize: number) {
  return {
    ...mysqlConnectionOptions(url),
    connectionLimit: poolSize,
    // Fail fast when the server is gone instead of queueing requests for the default 10 s.
    acquireTimeout: 5000,
    connectTimeout: 3000,
  };
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

/** The journal mode is stored in the database file, so setting it once before Prisma opens it holds. */
function setJournalMode(file: string, mode: 'wal' | 'delete'): void {
  const db = new Database(file);
  try {
    db.pragma(`journal_mode = ${mode}`);
  } finally {
    db.close();
  }
}

export function createDb({
  url,
  poolSize = 10,
  observer,
  sqliteJournalMode = 'wal',
  sqliteBusyTimeoutMs = 5000,
}: DbOptions): DbHandle {
  const provider = dbProvider(url);
  let prisma: Db;
  if (provider === 'sqlite') {
    const file = url.replace(/^file:/, '');
    if (file !== ':memory:') {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      setJournalMode(file, sqliteJournalMode);
    }
    const adapter = new PrismaBetterSqlite3({ url, timeout: sqliteBusyTimeoutMs });
    prisma = new SqliteClient({ adapter: observer ? instrumentAdapter(adapter, observer) : adapter });
  } else {
    const adapter = new PrismaMariaDb(mariaDbConfig(url, poolSize));
    prisma = new MysqlClient({
      adapter: observer ? instrumentAdapter(adapter, observer) : adapter,
    }) as unknown as Db;
  }
  return {
    prisma: observer ? withQueryTiming(prisma, observer) : prisma,
    provider,
    displayUrl: maskUrl(url),
  };
}
