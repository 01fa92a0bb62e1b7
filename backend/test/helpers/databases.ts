import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { maskUrl } from '../../src/db/database-url';

/**
 * The databases the DB-touching suites run on. SQLite always; MySQL/MariaDB (MYSQL_URL,
 * default mysql://root@127.0.0.1:3306/test) when reachable. With REQUIRE_MYSQL=1 an
 * unreachable MySQL makes every MySQL test FAIL (the provider carries `unavailable` and
 * `requireDb` throws in beforeAll); without it the MySQL provider is skipped with a warning.
 */
export interface DbTarget {
  name: 'sqlite' | 'mysql';
  /** A database URL for one test file: a fresh SQLite file, or the shared MySQL db. */
  url(): string;
  /** Set when the provider is required but unreachable; tests must fail with this message. */
  unavailable?: string;
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

/** Synchronous probe (a child process) so the provider list is known when describe.each runs. */
function probeMysql(url: string): string | undefined {
  const script = `
    const u = new URL(process.argv[1]);
    require('mariadb').createConnection({
      host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password), database: u.pathname.slice(1), connectTimeout: 2000,
    }).then((c) => c.query('SELECT 1').then(() => c.end()))
      .then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.message)); process.exit(1); });`;
  try {
    execFileSync(process.execPath, ['-e', script, url], {
      cwd: REPO_ROOT,
      timeout: 8000,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return (e.stderr?.toString().trim() || e.message).slice(0, 300);
  }
}

let cached: DbTarget[] | undefined;

export function databases(): DbTarget[] {
  if (cached) return cached;
  const list: DbTarget[] = [{ name: 'sqlite', url: () => tempSqliteUrl() }];
  const problem = probeMysql(MYSQL_URL);
  const masked = maskUrl(MYSQL_URL);
  if (!problem) {
    list.push({ name: 'mysql', url: () => MYSQL_URL });
  } else if (process.env.REQUIRE_MYSQL === '1') {
    list.push({
      name: 'mysql',
      url: () => MYSQL_URL,
      unavailable: `REQUIRE_MYSQL=1 but MySQL at ${masked} is unreachable: ${problem}`,
    });
  } else {
    console.warn(
      `MySQL at ${masked} unreachable (${problem}); MySQL tests skipped. Set REQUIRE_MYSQL=1 to fail instead.`,
    );
  }
  cached = list;
  return list;
}

/** Call first in a provider's beforeAll: a required-but-unreachable provider fails the suite. */
export function requireDb(db: DbTarget): void {
  if (db.unavailable) throw new Error(db.unavailable);
}
