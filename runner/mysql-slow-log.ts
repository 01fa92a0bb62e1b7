import * as mariadb from 'mariadb';
import { mysqlConnectionOptions } from '../backend/src/db/mysql-url';

/**
 * Turns the MySQL/MariaDB slow query log on for a run (to the mysql.slow_log table, so it can
 * be read back over the same connection), summarises what it caught, and restores the server's
 * settings. `long_query_time` applies to connections opened after it is set, so the runner
 * enables it before it starts the relay.
 */
export interface SlowQuery {
  /** The statement with literals replaced by `?`. */
  statement: string;
  count: number;
  totalMs: number;
  avgMs: number;
  maxMs: number;
  rowsExamined: number;
}

export type SlowLogResult =
  | { available: true; thresholdMs: number; total: number; queries: SlowQuery[] }
  | { available: false; reason: string };

interface Saved {
  slow_query_log: string;
  long_query_time: string;
  log_output: string;
}

export function normalizeStatement(sql: string): string {
  return sql
    .replace(/'(?:[^'\\]|\\.)*'/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?, ...)')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

function connectionOptions(url: string): mariadb.ConnectionConfig {
  return { ...mysqlConnectionOptions(url), connectTimeout: 5000 };
}

export class MysqlSlowLog {
  private saved?: Saved;
  private since?: Date;
  private failure?: string;

  constructor(
    private readonly url: string,
    private readonly thresholdMs = 50,
  ) {}

  private async withConnection<T>(fn: (c: mariadb.Connection) => Promise<T>): Promise<T> {
    const conn = await mariadb.createConnection(connectionOptions(this.url));
    try {
      return await fn(conn);
    } finally {
      await conn.end();
    }
  }

  /**
   * Never throws: a missing privilege is recorded and reported instead of failing the run.
   * If it fails after changing a setting, the settings read first are put back before it returns.
   */
  async enable(): Promise<void> {
    let saved: Saved | undefined;
    try {
      await this.withConnection(async (c) => {
        const rows = (await c.query(
          "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('slow_query_log', 'long_query_time', 'log_output')",
        )) as { Variable_name: keyof Saved; Value: string }[];
        saved = Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value])) as unknown as Saved;
        const now = (await c.query('SELECT NOW(6) AS now')) as { now: Date }[];
        await c.query("SET GLOBAL log_output = 'TABLE'");
        await c.query(`SET GLOBAL long_query_time = ${Number(this.thresholdMs / 1000).toFixed(6)}`);
        await c.query('SET GLOBAL slow_query_log = 1');
        this.saved = saved;
        this.since = now[0].now;
      });
    } catch (err) {
      this.failure = `could not enable the slow query log (${(err as Error).message.split('\n')[0]}); it needs SUPER or SYSTEM_VARIABLES_ADMIN`;
      // One of the SETs may have gone through before the failure: a shared server must not keep it.
      if (saved) await this.restore(saved);
    }
  }

  /** Reads the entries since `enable`, then restores the server's previous settings. */
  async collect(): Promise<SlowLogResult> {
    if (!this.saved || !this.since)
      return { available: false, reason: this.failure ?? 'slow query log not enabled' };
    const saved = this.saved;
    try {
      return await this.withConnection(async (c) => {
        const rows = (await c.query(
          `SELECT CONVERT(sql_text USING utf8mb4) AS sql_text, TIME_TO_SEC(query_time) AS seconds, rows_examined
             FROM mysql.slow_log WHERE start_time >= ? AND CONVERT(sql_text USING utf8mb4) NOT LIKE '%mysql.slow_log%'`,
          [this.since],
        )) as { sql_text: string; seconds: string | number; rows_examined: number }[];
        const byStatement = new Map<string, SlowQuery>();
        for (const row of rows) {
          const statement = normalizeStatement(row.sql_text);
          const ms = Number(row.seconds) * 1000;
          const q = byStatement.get(statement) ?? {
            statement,
            count: 0,
            totalMs: 0,
            avgMs: 0,
            maxMs: 0,
            rowsExamined: 0,
          };
          q.count++;
          q.totalMs += ms;
          q.maxMs = Math.max(q.maxMs, ms);
          q.rowsExamined += Number(row.rows_examined);
          byStatement.set(statement, q);
        }
        const queries = [...byStatement.values()]
          .map((q) => ({
            ...q,
            totalMs: round(q.totalMs),
            maxMs: round(q.maxMs),
            avgMs: round(q.totalMs / q.count),
          }))
          .sort((a, b) => b.totalMs - a.totalMs);
        return { available: true as const, thresholdMs: this.thresholdMs, total: rows.length, queries };
      });
    } finally {
      await this.restore(saved);
    }
  }

  /**
   * Puts each setting back on its own, so one failure does not leave the others changed.
   * Never throws: a setting it could not restore is printed with the value to set by hand.
   */
  private async restore(saved: Saved): Promise<void> {
    const statements: [string, string, unknown[]][] = [
      ['slow_query_log', `SET GLOBAL slow_query_log = ${saved.slow_query_log === 'ON' ? 1 : 0}`, []],
      ['long_query_time', `SET GLOBAL long_query_time = ${Number(saved.long_query_time)}`, []],
      ['log_output', 'SET GLOBAL log_output = ?', [saved.log_output]],
    ];
    const failed: string[] = [];
    try {
      await this.withConnection(async (c) => {
        for (const [name, sql, params] of statements) {
          await c.query(sql, params).catch((err: Error) => {
            failed.push(`${name}=${saved[name as keyof Saved]} (${err.message.split('\n')[0]})`);
          });
        }
      });
    } catch (err) {
      failed.push(`all of ${JSON.stringify(saved)} (${(err as Error).message.split('\n')[0]})`);
    }
    if (failed.length > 0)
      console.warn(`warning: could not restore the MySQL slow-log settings: ${failed.join('; ')}`);
    this.saved = undefined;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
