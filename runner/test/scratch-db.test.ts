import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as mariadb from 'mariadb';
import { mysqlConnectionOptions } from '../../backend/src/db/mysql-url';
import { eachDb, requireDb } from '../../backend/test/helpers/databases';
import { withScratchDatabase } from '../scratch-db';

async function mysqlDatabases(url: string): Promise<string[]> {
  const c = await mariadb.createConnection(mysqlConnectionOptions(url));
  try {
    return ((await c.query('SHOW DATABASES')) as { Database: string }[]).map((r) => r.Database);
  } finally {
    await c.end();
  }
}

eachDb('scratch database', (db) => {
  test('exists while in use and is gone afterwards, also when the use throws', async () => {
    requireDb(db);
    const base = db.name === 'sqlite' ? 'file:' : db.url();
    let seen = '';
    const boom = withScratchDatabase(base, 'scratch test', async (url) => {
      seen = url;
      if (db.name === 'sqlite') {
        expect(url).toMatch(/^file:.*scratch test\.db$/);
        writeFileSync(url.slice(5), 'x');
      } else {
        const name = new URL(url).pathname.slice(1);
        expect(name).toMatch(/^relay_scratch_test_[0-9a-f]{6}$/);
        expect(await mysqlDatabases(base)).toContain(name);
      }
      throw new Error('boom');
    });
    await expect(boom).rejects.toThrow('boom');
    if (db.name === 'sqlite') expect(existsSync(path.dirname(seen.slice(5)))).toBe(false);
    else expect(await mysqlDatabases(base)).not.toContain(new URL(seen).pathname.slice(1));
  });
});
