import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as mariadb from 'mariadb';
import type { StatsMode } from '../../src/config';
import { maskUrl } from '../../src/db/database-url';
import { probeService, serviceVerdict } from './service-probe';

/**
 * The databases the DB-touching suites run on. SQLite always; MySQL/MariaDB (MYSQL_URL,
 * default mysql://root@127.0.0.1:3306/test) when reachable. With REQUIRE_MYSQL=1 an
 * unreachable MySQL makes every MySQL test FAIL (the provider carries `unavailable` and
 * `requireDb` throws in beforeAll); without it the MySQL suites are registered as skipped.
 */
export interface DbTarget {
  name: 'sqlite' | 'mysql';
  /** A database URL for one test file: a fresh SQLite file, or the shared MySQL db. */
  url(): string;
  /** Set when the provider is required but unreachable; tests must fail with this message. */
  unavailable?: string;
  /** Set when the provider is unreachable and not required: its suites are reported as skipped. */
  skip?: string;
}

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const MYSQL_URL = process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';

/** Temp files created by this test file, removed at process exit. */
const tempFiles: string[] = [];
process.once('exit', () => {
  for (const f of tempFiles)
    for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(f + suffix, { force: true });
});

export function tempSqliteUrl(label = 'relay'): string {
  const file = path.join(
    os.tmpdir(),
    `relay-test-${label}-${process.pid}-${randomBytes(4).toString('hex')}.db`,
  );
  tempFiles.push(file);
  return `file:${file}`;
}

let cached: DbTarget[] | undefined;

/**
 * Every database target, MySQL included even when it cannot run: an unreachable MySQL without
 * REQUIRE_MYSQL=1 carries `skip` (its suites are registered with describe.skip and show up in
 * Jest's summary as skipped); with REQUIRE_MYSQL=1 it carries `unavailable` (its suites fail).
 */
export function dbTargets(): DbTarget[] {
  if (cached) return cached;
  const list: DbTarget[] = [{ name: 'sqlite', url: () => tempSqliteUrl() }];
  const masked = maskUrl(MYSQL_URL);
  const problem = probeService('mysql', MYSQL_URL);
  const verdict = serviceVerdict(problem && `MySQL at ${masked} is unreachable: ${problem}`, 'REQUIRE_MYSQL');
  list.push({
    name: 'mysql',
    url: () => MYSQL_URL,
    ...(verdict.action === 'fail' && { unavailable: verdict.reason }),
    ...(verdict.action === 'skip' && { skip: verdict.reason }),
  });
  cached = list;
  return list;
}

/** The stats modes every relay-level suite runs in: production's default and the legacy path. */
export const STATS_MODES = ['immediate', 'batched'] as const satisfies readonly StatsMode[];

/** One database in one stats mode, named like `sqlite/batched`. */
export interface RelayTarget {
  name: string;
  db: DbTarget;
  statsMode: StatsMode;
  skip?: string;
}

/** Every database in every stats mode. */
export function relayTargets(): RelayTarget[] {
  return dbTargets().flatMap((db) =>
    STATS_MODES.map((statsMode) => ({ name: `${db.name}/${statsMode}`, db, statsMode, skip: db.skip })),
  );
}

/**
 * One describe block per item, titled `<title> on <item.name>`; an item with `skip` becomes a
 * describe.skip whose title says why, so its tests are counted as skipped, never as passed.
 */
export function describeEach<T extends { name: string; skip?: string }>(
  title: string,
  items: T[],
  body: (item: T) => void,
): void {
  for (const item of items) {
    if (item.skip) describe.skip(`${title} on ${item.name} (skipped: ${item.skip})`, () => body(item));
    else describe(`${title} on ${item.name}`, () => body(item));
  }
}

/** `describeEach` over the databases (for suites where the stats mode plays no part). */
export const eachDb = (title: string, body: (db: DbTarget) => void) => describeEach(title, dbTargets(), body);

/** `describeEach` over every database x stats mode. */
export const eachTarget = (title: string, body: (target: RelayTarget) => void) =>
  describeEach(title, relayTargets(), body);

/** `describeEach` over the MySQL target alone, for what only MySQL can show (a server to cut off). */
export const onMysql = (title: string, body: (db: DbTarget) => void) =>
  describeEach(
    title,
    dbTargets().filter((d) => d.name === 'mysql'),
    body,
  );

/** An admin connection to the MySQL server of MYSQL_URL (no database selected). */
async function mysqlServer<T>(fn: (conn: mariadb.Connection) => Promise<T>): Promise<T> {
  const u = new URL(MYSQL_URL);
  const conn = await mariadb.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  });
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

/**
 * A database of its own for one test file: a fresh SQLite file, or a new MySQL database
 * (named after MYSQL_URL's with a random suffix) on the same server. `drop()` removes the
 * MySQL one; SQLite files go at process exit.
 */
export async function scratchDatabase(db: DbTarget): Promise<{ url: string; drop(): Promise<void> }> {
  if (db.name === 'sqlite') return { url: tempSqliteUrl('scratch'), drop: async () => undefined };
  const u = new URL(MYSQL_URL);
  const name = `${u.pathname.slice(1)}_scratch_${randomBytes(4).toString('hex')}`;
  await mysqlServer((c) => c.query(`CREATE DATABASE \`${name}\``));
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: () => mysqlServer((c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``)).then(() => undefined),
  };
}

/** Call first in a provider's beforeAll: a required-but-unreachable provider fails the suite. */
export function requireDb(db: DbTarget): void {
  if (db.unavailable) throw new Error(db.unavailable);
}
