import Database from 'better-sqlite3';
import { MYSQL_URL, requireDb, type DbTarget } from './databases';
import { startTestRelay, type TestRelay } from './relay';
import { closeAll, type Client } from './ws';
import { TcpProxy } from './tcp-proxy';

/**
 * A real database outage a test can start and end, on either database.
 *
 * MySQL/MariaDB: the relay connects through a TCP forwarder; `begin` cuts every connection and
 * refuses new ones, exactly what a server crash or a network partition looks like to the pool.
 *
 * SQLite is a file inside the relay's process, so "unreachable" means "locked": another
 * connection takes an EXCLUSIVE lock (`BEGIN EXCLUSIVE`) in rollback-journal mode, which keeps
 * every other connection from reading or writing. The relay's statements then fail with
 * SQLITE_BUSY after its busy timeout, the error SQLite really returns when a backup, a
 * migration or another process holds the database. Nothing in the relay is stubbed and the
 * schema is untouched; `end` rolls the lock back and the same connection works again.
 */
export interface DbOutage {
  /** DATABASE_URL the relay must use for the outage to reach it. */
  url: string;
  /** Settings the relay needs for the outage to be felt (SQLite: rollback journal, short busy wait). */
  env: Record<string, string>;
  begin(): Promise<void>;
  end(): Promise<void>;
  /** Ends any outage and releases the forwarder. */
  close(): Promise<void>;
}

export async function dbOutage(db: DbTarget): Promise<DbOutage> {
  if (db.name === 'sqlite') {
    const url = db.url();
    let holder: Database.Database | undefined;
    const end = async () => {
      if (!holder) return;
      holder.exec('ROLLBACK');
      holder.close();
      holder = undefined;
    };
    return {
      url,
      // A WAL database lets readers through a writer's lock; the rollback journal does not.
      // The busy wait is short so the outage is felt quickly, but not shorter than the relay's
      // own writes take on a loaded CI machine: at 20 ms a read that met a flush in progress
      // (outside any outage) failed with SQLITE_BUSY and the API answered 500.
      env: { SQLITE_JOURNAL_MODE: 'delete', SQLITE_BUSY_TIMEOUT_MS: '250' },
      begin: async () => {
        if (holder) return;
        holder = new Database(url.replace(/^file:/, ''), { timeout: 5000 });
        holder.exec('BEGIN EXCLUSIVE');
      },
      end,
      close: end,
    };
  }
  const target = new URL(MYSQL_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 3306));
  const port = await proxy.start();
  const url = new URL(MYSQL_URL);
  url.port = String(port);
  let down = false;
  return {
    url: url.toString(),
    env: {},
    begin: async () => {
      down = true;
      await proxy.stop();
    },
    end: async () => {
      if (!down) return;
      down = false;
      await proxy.start(port);
    },
    close: async () => {
      down = false;
      await proxy.stop();
    },
  };
}

/** Reads one sample of a Prometheus text exposition, e.g. `relay_flush_rows_total{kind="stats",outcome="failed"}`. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

/** A relay started behind a database outage, for the tests of one describe block. */
export interface OutageRelay {
  /** the relay; valid inside tests */
  relay(): TestRelay;
  /** the outage the tests begin and end; valid inside tests */
  outage(): DbOutage;
  /** clients the tests open; closed after the block */
  clients: Client[];
}

/**
 * Registers beforeAll/afterAll for a relay on `db` behind an outage (dbOutage): started with
 * the outage's URL and settings plus `env`; afterwards the clients are closed, the outage ended,
 * the relay stopped and the forwarder released, in that order, so the relay's shutdown never
 * waits on a database the test left down. Fails the block when `db` is required but missing
 * (requireDb).
 */
export function relayBehindOutage(db: DbTarget, env: Record<string, string>): OutageRelay {
  let outage: DbOutage | undefined;
  let t: TestRelay | undefined;
  const clients: Client[] = [];
  beforeAll(async () => {
    requireDb(db);
    outage = await dbOutage(db);
    t = await startTestRelay(outage.url, { ...env, ...outage.env });
  });
  afterAll(async () => {
    await closeAll(clients);
    await outage?.end();
    await t?.stop();
    await outage?.close();
  });
  return { relay: () => t!, outage: () => outage!, clients };
}
