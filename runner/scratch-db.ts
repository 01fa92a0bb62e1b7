/**
 * A database that exists only for one measurement, so a shared one is never touched: a
 * temporary SQLite file for `file:`, or a new database next to the one a mysql:// URL names,
 * dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as mariadb from 'mariadb';
import { providerOf } from '../backend/src/db/database-url';
import { mysqlConnectionOptions } from '../backend/src/db/mysql-url';

async function mysqlAdmin(url: string, sql: string): Promise<void> {
  const conn = await mariadb.createConnection(mysqlConnectionOptions(url));
  try {
    await conn.query(sql);
  } finally {
    await conn.end();
  }
}

export async function withScratchDatabase<T>(
  url: string,
  label: string,
  use: (scratchUrl: string) => Promise<T>,
): Promise<T> {
  if (providerOf(url) === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), `relay-${label}-`));
    try {
      return await use(`file:${path.join(dir, `${label}.db`)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const name = `relay_${label.replace(/\W/g, '_')}_${randomBytes(3).toString('hex')}`;
  await mysqlAdmin(url, `CREATE DATABASE \`${name}\``);
  const u = new URL(url);
  u.pathname = `/${name}`;
  try {
    return await use(u.toString());
  } finally {
    await mysqlAdmin(url, `DROP DATABASE IF EXISTS \`${name}\``);
  }
}
