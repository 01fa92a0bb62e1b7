/**
 * The slow-log helper against a real MariaDB/MySQL. It changes the server's global
 * settings, so every test captures them first, puts them back in `finally` (even when the
 * helper under test does not) and then asserts the helper had already restored them.
 * Without MySQL these tests are reported as skipped; with REQUIRE_MYSQL=1 they fail.
 */
import * as mariadb from 'mariadb';
import { mysqlConnectionOptions } from '../../backend/src/db/mysql-url';
import { onMysql, requireDb } from '../../backend/test/helpers/databases';
import { MysqlSlowLog, normalizeStatement } from '../mysql-slow-log';

test('normalizeStatement folds literals and IN lists', () => {
  expect(normalizeStatement("UPDATE `EndpointStats` SET a = a + 1 WHERE id IN ('x', 'y', 'z')")).toBe(
    'UPDATE `EndpointStats` SET a = a + ? WHERE id IN (?, ...)',
  );
});

const SETTINGS =
  "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('slow_query_log', 'long_query_time', 'log_output')";

type Settings = Record<string, string>;

async function readSettings(url: string): Promise<Settings> {
  const c = await mariadb.createConnection(mysqlConnectionOptions(url));
  try {
    const rows = (await c.query(SETTINGS)) as { Variable_name: string; Value: string }[];
    return Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value]));
  } finally {
    await c.end();
  }
}

async function writeSettings(url: string, s: Settings): Promise<void> {
  const c = await mariadb.createConnection(mysqlConnectionOptions(url));
  try {
    await c.query(`SET GLOBAL slow_query_log = ${s.slow_query_log === 'ON' ? 1 : 0}`);
    await c.query(`SET GLOBAL long_query_time = ${Number(s.long_query_time)}`);
    await c.query('SET GLOBAL log_output = ?', [s.log_output]);
  } finally {
    await c.end();
  }
}

/** Settings unlike the ones the helper sets, so a missing restore cannot go unnoticed. */
const DISTINCT: Settings = { log_output: 'FILE', long_query_time: '7.250000', slow_query_log: 'OFF' };

/**
 * Runs `body` with the server on DISTINCT settings; afterwards asserts the helper left them
 * so, and puts the original ones back whatever happened so no other test inherits them.
 */
async function guardingSettings(url: string, body: () => Promise<void>): Promise<void> {
  const original = await readSettings(url);
  expect(Object.keys(original).sort()).toEqual(['log_output', 'long_query_time', 'slow_query_log']);
  let after: Settings | undefined;
  try {
    await writeSettings(url, DISTINCT);
    expect(await readSettings(url)).toEqual(DISTINCT);
    await body();
    after = await readSettings(url);
  } finally {
    await writeSettings(url, original);
  }
  expect(after).toEqual(DISTINCT);
  expect(await readSettings(url)).toEqual(original);
}

onMysql('slow query log', (db) => {
  beforeAll(() => requireDb(db));

  test('captures a slow statement and restores the server settings', async () => {
    const url = db.url();
    await guardingSettings(url, async () => {
      const log = new MysqlSlowLog(url, 20);
      await log.enable();
      // A new connection picks up the new long_query_time.
      const worker = await mariadb.createConnection(mysqlConnectionOptions(url));
      try {
        await worker.query('SELECT SLEEP(0.06), 42 AS marker_slow_log_test');
        // Below the 20 ms threshold: must not be listed.
        await worker.query('SELECT 43 AS marker_fast_query_test');
      } finally {
        await worker.end();
      }
      const result = await log.collect();
      if (!result.available) throw new Error(`slow log unavailable: ${result.reason}`);
      expect(result.thresholdMs).toBe(20);
      const hits = result.queries.filter((q) => q.statement.includes('marker_slow_log_test'));
      expect(hits).toHaveLength(1);
      expect(hits[0].statement).toBe('SELECT SLEEP(?), ? AS marker_slow_log_test');
      expect(hits[0].count).toBe(1);
      // SLEEP(0.06) cannot finish in less than 60 ms: a floor, not a latency target.
      expect(hits[0].maxMs).toBeGreaterThanOrEqual(50);
      expect(result.queries.some((q) => q.statement.includes('marker_fast_query_test'))).toBe(false);
    });
  });

  test('a failure half-way through enable puts back what it had already changed', async () => {
    const url = db.url();
    await guardingSettings(url, async () => {
      // NaN renders as `long_query_time = NaN`, which the server rejects after log_output was set.
      const log = new MysqlSlowLog(url, Number.NaN);
      await log.enable();
      const result = await log.collect();
      expect(result).toEqual({
        available: false,
        reason: expect.stringMatching(/^could not enable the slow query log \(.+\)/),
      });
    });
  });

  test('collect without enable reports it and changes nothing', async () => {
    const url = db.url();
    await guardingSettings(url, async () => {
      const result = await new MysqlSlowLog(url, 20).collect();
      expect(result).toEqual({ available: false, reason: 'slow query log not enabled' });
    });
  });
});
