import Database from 'better-sqlite3';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as mariadb from 'mariadb';
import { dbProvider, type DbProvider } from '../config';
import { logger } from '../logger';
import { mysqlConnectionOptions } from './mysql-url';

/**
 * Applies prisma/<provider>/migrations/* in name order and records each in `_prisma_migrations`
 * exactly as `prisma migrate deploy` does (id, sha256 checksum of migration.sql, timestamps,
 * applied_steps_count), so a machine that has Prisma's schema engine can take over from the
 * same state. The engine itself is a download this project cannot rely on, hence this runner.
 */
export const MIGRATIONS_ROOT = findPrismaDir(__dirname);

/** prisma/ sits at the package root, whether this file runs from backend/src or dist/backend/src. */
function findPrismaDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prisma');
    if (fs.existsSync(path.join(candidate, 'models.prisma'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`prisma/ (with models.prisma) not found above ${from}`);
  }
}

interface Driver {
  /** SQL for the current time at millisecond precision. */
  now: string;
  run(sql: string, params?: unknown[]): Promise<void>;
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

const MIGRATIONS_TABLE: Record<DbProvider, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`,
  mysql: `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
};

async function openDriver(url: string): Promise<Driver> {
  if (dbProvider(url) === 'sqlite') {
    const file = url.replace(/^file:/, '');
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    return {
      now: "strftime('%Y-%m-%d %H:%M:%f', 'now')",
      run: async (sql, params = []) => void db.prepare(sql).run(...params),
      rows: async <T>(sql: string, params: unknown[] = []) => db.prepare(sql).all(...params) as T[],
      close: async () => void db.close(),
    };
  }
  const conn = await mariadb.createConnection({ ...mysqlConnectionOptions(url), connectTimeout: 5000 });
  // Several relay processes (PM2 cluster) may start together: one migrates, the others wait.
  await conn.query("SELECT GET_LOCK('relay_migrations', 60)");
  return {
    now: 'CURRENT_TIMESTAMP(3)',
    run: async (sql, params = []) => void (await conn.query(sql, params)),
    rows: async <T>(sql: string, params: unknown[] = []) => (await conn.query(sql, params)) as T[],
    close: async () => {
      await conn.query("SELECT RELEASE_LOCK('relay_migrations')").catch(() => undefined);
      await conn.end();
    },
  };
}

/** Statements of a migration file; comments dropped, split at semicolons that end a line. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(provider: DbProvider, root = MIGRATIONS_ROOT): MigrationFile[] {
  const dir = path.join(root, provider, 'migrations');
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const buf = fs.readFileSync(path.join(dir, name, 'migration.sql'));
      return { name, sql: buf.toString('utf8'), checksum: createHash('sha256').update(buf).digest('hex') };
    });
}

export class MigrationError extends Error {}

/**
 * Returns the names of the migrations applied by this call. `upTo` stops after the named
 * migration (to inspect an older schema, e.g. query plans before an index existed).
 */
export async function migrate(url: string, { upTo }: { upTo?: string } = {}): Promise<string[]> {
  const provider = dbProvider(url);
  const driver = await openDriver(url);
  const applied: string[] = [];
  try {
    await driver.run(MIGRATIONS_TABLE[provider]);
    const done = await driver.rows<{ migration_name: string; checksum: string; finished_at: unknown }>(
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations WHERE rolled_back_at IS NULL',
    );
    const byName = new Map(done.map((row) => [row.migration_name, row]));
    const all = listMigrations(provider);
    const last = upTo === undefined ? all.length : all.findIndex((m) => m.name === upTo) + 1;
    if (last === 0) throw new MigrationError(`no migration named ${upTo}`);
    for (const migration of all.slice(0, last)) {
      const previous = byName.get(migration.name);
      if (previous) {
        if (!previous.finished_at) {
          throw new MigrationError(
            `Migration ${migration.name} started earlier but never finished; fix the database by hand, then delete its row from _prisma_migrations`,
          );
        }
        if (previous.checksum !== migration.checksum) {
          logger.warn('migration file changed after it was applied', { migration: migration.name });
        }
        continue;
      }
      const id = randomUUID();
      await driver.run(
        `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ${driver.now}, 0)`,
        [id, migration.checksum, migration.name],
      );
      try {
        for (const statement of splitStatements(migration.sql)) await driver.run(statement);
      } catch (err) {
        await driver.run('UPDATE _prisma_migrations SET logs = ? WHERE id = ?', [String(err), id]);
        throw new MigrationError(`Migration ${migration.name} failed: ${(err as Error).message}`);
      }
      await driver.run(
        `UPDATE _prisma_migrations SET finished_at = ${driver.now}, applied_steps_count = 1 WHERE id = ?`,
        [id],
      );
      applied.push(migration.name);
      logger.info('migration applied', { migration: migration.name, provider });
    }
  } finally {
    await driver.close();
  }
  return applied;
}
