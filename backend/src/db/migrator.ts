import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../logger';
import type { DbProvider } from './database-url';
import { dialectFor } from './dialects';

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

/** The provider's migrations under `root`, in name (= apply) order, each with its SQL and sha256 checksum. */
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
 * migration (to inspect an older schema, e.g. query plans before an index existed). Throws
 * MigrationError for a failed or half-applied migration or an unknown `upTo`, and the driver's
 * error when the database is unreachable.
 */
export async function migrate(url: string, { upTo }: { upTo?: string } = {}): Promise<string[]> {
  const dialect = dialectFor(url);
  const provider = dialect.provider;
  const driver = await dialect.openMigrationConnection(url);
  const applied: string[] = [];
  try {
    await driver.run(dialect.migrationsTableSql);
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
