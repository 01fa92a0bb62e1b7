import * as mariadb from 'mariadb';
import { MysqlSlowLog, normalizeStatement } from '../mysql-slow-log';

const MYSQL_URL = process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';

test('normalizeStatement folds literals and IN lists', () => {
  expect(normalizeStatement("UPDATE `EndpointStats` SET a = a + 1 WHERE id IN ('x', 'y', 'z')")).toBe(
    'UPDATE `EndpointStats` SET a = a + ? WHERE id IN (?, ...)',
  );
});

async function reachable(): Promise<boolean> {
  try {
    const u = new URL(MYSQL_URL);
    const c = await mariadb.createConnection({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: u.username,
      connectTimeout: 2000,
    });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

test('captures a slow statement on MySQL and restores the server settings', async () => {
  if (!(await reachable())) {
    if (process.env.REQUIRE_MYSQL === '1') throw new Error(`REQUIRE_MYSQL=1 but ${MYSQL_URL} is unreachable`);
    console.warn('MySQL unreachable; slow-log test skipped');
    return;
  }
  const u = new URL(MYSQL_URL);
  const opts = {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: u.username,
    database: u.pathname.slice(1),
  };
  const admin = await mariadb.createConnection(opts);
  const before = await admin.query(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('slow_query_log', 'long_query_time', 'log_output')",
  );
  const log = new MysqlSlowLog(MYSQL_URL, 20);
  await log.enable();
  // A new connection picks up the new long_query_time.
  const worker = await mariadb.createConnection(opts);
  await worker.query('SELECT SLEEP(0.06), 42 AS marker_slow_log_test');
  await worker.end();
  const result = await log.collect();
  const after = await admin.query(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('slow_query_log', 'long_query_time', 'log_output')",
  );
  await admin.end();
  expect(result.available).toBe(true);
  if (!result.available) return;
  const hit = result.queries.find((q) => q.statement.includes('marker_slow_log_test'));
  expect(hit).toBeDefined();
  expect(hit!.maxMs).toBeGreaterThanOrEqual(50);
  expect(after).toEqual(before);
});
