import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import * as mariadb from 'mariadb';
import { PrismaClient } from '../../generated/mysql/client';
import { mysqlConnectionOptions } from '../mysql-url';
import type { Db } from '../prisma';
import { WorkerRunner } from '../bulk/worker-runner';
import type { BulkOptions, Dialect, PrismaOptions, SqlConnection, UpdateFromValues } from './dialect';
import { insertRowsStatement } from './insert-rows';

/**
 * Server error codes that refuse the data, not the connection: 1048 null, 1062 duplicate,
 * 1153 packet larger than max_allowed_packet, 1264/1690 out of range, 1265/1292/1366 bad or
 * truncated value, 1300 invalid character string, 1406 too long, 1451/1452 foreign key,
 * 3140-3146 invalid JSON (MySQL 8), 4025 CHECK constraint (MariaDB's JSON_VALID on JSON
 * columns), 4038 JSON syntax (MariaDB).
 */
const DATA_ERRORS = new Set(
  [
    1048, 1062, 1153, 1264, 1265, 1292, 1300, 1366, 1406, 1451, 1452, 1690, 3140, 3141, 3143, 3144, 3146,
    4025, 4038,
  ].map(String),
);

/**
 * A parameter as Prisma's MariaDB adapter would bind it (its mapArg): DateTime as UTC
 * `YYYY-MM-DD HH:MM:SS[.mmm]` (no `.000`). The columns are DATETIME(3) without a zone, so a
 * Date the driver formatted in the process's local zone would be stored hours off.
 */
export function mysqlParam(value: unknown): unknown {
  if (value instanceof Date)
    return value
      .toISOString()
      .replace('T', ' ')
      .replace(/(\.000)?Z$/, '');
  return value;
}

/** Driver options shared by Prisma's pool and the writer thread's connection. */
function connectionOptions(url: string) {
  return {
    ...mysqlConnectionOptions(url),
    // Fail fast when the server is gone instead of queueing requests for the default 10 s.
    acquireTimeout: 5000,
    connectTimeout: 3000,
  };
}

/** MySQL 8 and MariaDB, both through the MariaDB driver (which wants `mariadb://`; we take `mysql://`). */
export const mysql: Dialect = {
  provider: 'mysql',

  openPrisma(url: string, { poolSize, wrapAdapter }: PrismaOptions) {
    const adapter = new PrismaMariaDb({ ...connectionOptions(url), connectionLimit: poolSize });
    return new PrismaClient({ adapter: wrapAdapter(adapter) }) as unknown as Db;
  },

  openStatementRunner(url: string, { bulkWrites }: BulkOptions) {
    if (bulkWrites === 'prisma') return null;
    return new WorkerRunner({ kind: 'mysql', options: connectionOptions(url) }, mysqlParam);
  },

  async openMigrationConnection(url: string): Promise<SqlConnection> {
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
  },

  migrationsTableSql: `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,

  /**
   * UPDATE ... JOIN a derived table. MySQL 8 spells a row constructor VALUES ROW(...) and
   * MariaDB VALUES (...), so the rows are SELECTs joined by UNION ALL, which both accept; the
   * first SELECT names the columns.
   */
  updateFromValues({ table, key, columns, values, set, setParams }: UpdateFromValues) {
    const first = `SELECT ${columns.map((c) => `? AS \`${c}\``).join(', ')}`;
    const next = `SELECT ${columns.map(() => '?').join(', ')}`;
    const rows = values.length / columns.length;
    const derived = [first, ...Array.from({ length: rows - 1 }, () => next)].join(' UNION ALL ');
    const assignments = set(
      (column) => `s.\`${column}\``,
      (i) => `d.\`${columns[i]}\``,
    );
    return {
      sql:
        `UPDATE \`${table}\` AS s JOIN (${derived}) AS d ON s.\`${key}\` = d.\`${columns[0]}\` ` +
        `SET ${assignments.join(', ')}`,
      params: [...values, ...setParams],
    };
  },

  insertRows: insertRowsStatement,

  // MariaDB's JSON_VALID refuses 32 nested containers (measured on 10.11: 31 stored, 32
  // refused); MySQL 8 allows 100. One driver serves both, so the smaller holds.
  maxJsonDepth: 31,

  // Half of MariaDB's default max_allowed_packet (16 MiB; MySQL 8: 64 MiB), leaving room for
  // the statement text and protocol overhead.
  maxStatementBytes: 8 * 2 ** 20,

  refusesData: (code) => DATA_ERRORS.has(code),
};
