import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import * as mariadb from 'mariadb';
import { BatchedStats } from '../src/services/stats/batched-stats';
import { eachDb, eachTarget, MYSQL_URL, requireDb, type DbTarget } from './helpers/databases';
import { startTestRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

/** Deterministic PRNG so a failing sequence can be replayed from its seed. */
function mulberry32(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Expected {
  current: number;
  total: number;
  messages: number;
}

/** Reads the persisted row straight from the database, bypassing the in-memory merge. */
async function persisted(t: TestRelay, endpointId: string) {
  const row = await t.relay.db.prisma.endpointStats.findUnique({ where: { endpointId } });
  if (!row) throw new Error(`no stats row for ${endpointId}`);
  return { current: row.currentConnections, total: row.totalConnections, messages: row.totalMessages };
}

async function frameCount(t: TestRelay): Promise<number> {
  const text = await (
    await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${t.apiKey}` } })
  ).text();
  return Number(/^relay_frames_received_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

/**
 * Runs a random script of connects, messages and disconnects over three endpoints and
 * returns what the totals must be.
 */
async function randomScript(t: TestRelay, seed: number) {
  const rnd = mulberry32(seed);
  const endpoints = await Promise.all([0, 1, 2].map((i) => t.createEndpoint(`rand${i}`)));
  const open = new Map<string, Client[]>(endpoints.map((e) => [e.id, []]));
  const expected = new Map<string, Expected>(
    endpoints.map((e) => [e.id, { current: 0, total: 0, messages: 0 }]),
  );
  let sent = 0;
  for (let step = 0; step < 60; step++) {
    const ep = endpoints[Math.floor(rnd() * endpoints.length)];
    const clients = open.get(ep.id)!;
    const exp = expected.get(ep.id)!;
    const r = rnd();
    if (r < 0.35 || clients.length === 0) {
      clients.push(await connect(t.wsUrl(ep.id, ep.token)));
      exp.current++;
      exp.total++;
    } else if (r < 0.5) {
      const [gone] = clients.splice(Math.floor(rnd() * clients.length), 1);
      await gone.close();
      exp.current--;
    } else {
      const n = 1 + Math.floor(rnd() * 5);
      const sender = clients[Math.floor(rnd() * clients.length)];
      for (let i = 0; i < n; i++) await sender.send(`m${step}.${i}`);
      exp.messages += n;
      sent += n;
    }
  }
  return { endpoints, open, expected, sent };
}

eachTarget('stats', ({ db, statsMode }) => {
  let t: TestRelay;
  beforeAll(async () => {
    requireDb(db);
    t = await startTestRelay(db.url(), { STATS_MODE: statsMode, STATS_FLUSH_INTERVAL_MS: '150' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  test.each([1, 2, 3])('exact totals after random script (seed %i), live and persisted', async (seed) => {
    const before = await frameCount(t);
    const { endpoints, open, expected, sent } = await randomScript(t, seed);
    // All frames have reached the relay once its frame counter has moved by exactly what was
    // sent; only then are the totals final.
    await eventually(
      () => frameCount(t),
      (n) => n === before + sent,
      { what: `${sent} frames` },
    );
    for (const ep of endpoints) {
      const exp = expected.get(ep.id)!;
      await eventually(
        () => t.stats(ep.id),
        (s) =>
          s.currentConnections === exp.current &&
          s.totalConnections === exp.total &&
          s.totalMessages === exp.messages,
        { what: `live stats of ${ep.name} = ${JSON.stringify(exp)}` },
      );
      await eventually(
        () => persisted(t, ep.id),
        (row) => JSON.stringify(row) === JSON.stringify(exp),
        {
          what: `persisted stats of ${ep.name} = ${JSON.stringify(exp)}`,
        },
      );
    }
    for (const clients of open.values()) await closeAll(clients);
  });
});

/** Makes stats writes fail for real, and undoes it. */
interface Outage {
  url: string;
  /** MySQL account the relay uses, created in beforeAll and dropped in afterAll. */
  user?: string;
  begin(): Promise<void>;
  end(): Promise<void>;
}

async function mysqlAdmin(sql: string) {
  const u = new URL(MYSQL_URL);
  const conn = await mariadb.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
  });
  try {
    await conn.query(sql);
  } finally {
    await conn.end();
  }
}

/**
 * SQLite: the test's private file, so the stats table is renamed away and back. MySQL: the
 * shared database, so a dedicated account loses and regains UPDATE on the stats table only.
 */
function outageFor(db: DbTarget): Outage {
  if (db.name === 'sqlite') {
    const url = db.url();
    const exec = (sql: string) => {
      const raw = new Database(url.replace(/^file:/, ''));
      try {
        raw.exec(sql);
      } finally {
        raw.close();
      }
    };
    return {
      url,
      begin: async () => exec('ALTER TABLE `EndpointStats` RENAME TO `EndpointStats_away`'),
      end: async () => exec('ALTER TABLE `EndpointStats_away` RENAME TO `EndpointStats`'),
    };
  }
  const user = `relay_flaky_${randomBytes(3).toString('hex')}`;
  const u = new URL(MYSQL_URL);
  const database = u.pathname.slice(1);
  const url = `mysql://${user}:flaky-pass@${u.host}/${database}`;
  return {
    url,
    user,
    begin: () => mysqlAdmin(`REVOKE UPDATE ON \`${database}\`.\`EndpointStats\` FROM '${user}'@'%'`),
    end: () => mysqlAdmin(`GRANT UPDATE ON \`${database}\`.\`EndpointStats\` TO '${user}'@'%'`),
  };
}

eachDb('batched stats recovery', (db) => {
  let outage: Outage;
  let t: TestRelay;

  beforeAll(async () => {
    requireDb(db);
    outage = outageFor(db);
    if (outage.user) {
      const database = new URL(MYSQL_URL).pathname.slice(1);
      await mysqlAdmin(`CREATE USER '${outage.user}'@'%' IDENTIFIED BY 'flaky-pass'`);
      // Everything but UPDATE at database level, UPDATE per table, so one table's can be revoked.
      await mysqlAdmin(
        `GRANT SELECT, INSERT, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES ON \`${database}\`.* TO '${outage.user}'@'%'`,
      );
      for (const table of [
        '_prisma_migrations',
        'Endpoint',
        'EndpointStats',
        'DeviceData',
        'AlertRule',
        'Alert',
      ]) {
        await mysqlAdmin(`GRANT UPDATE ON \`${database}\`.\`${table}\` TO '${outage.user}'@'%'`);
      }
    }
    t = await startTestRelay(outage.url, { STATS_MODE: 'batched', STATS_FLUSH_INTERVAL_MS: '100' });
  });
  afterAll(async () => {
    await t?.stop();
    if (outage?.user) await mysqlAdmin(`DROP USER IF EXISTS '${outage.user}'@'%'`);
  });

  test('a failed flush keeps its deltas, forwarding goes on, totals are exact after the DB returns', async () => {
    const ep = await t.createEndpoint('outage');
    const [a, b] = [await connect(t.wsUrl(ep.id, ep.token)), await connect(t.wsUrl(ep.id, ep.token))];
    await eventually(
      () => persisted(t, ep.id),
      (r) => r.current === 2,
      { what: 'connects flushed' },
    );

    await outage.begin();
    try {
      for (let i = 0; i < 25; i++) await a.send(`during-outage-${i}`);
      await b.waitForCount(25);
      const stats = t.relay.stats as BatchedStats;
      // The database's own refusal, not any error: a missing table on SQLite, a revoked grant on MySQL.
      await expect(stats.flush()).rejects.toThrow(
        db.name === 'sqlite' ? /no such table: .*EndpointStats/i : /UPDATE command denied/i,
      );
      // Still owed: the 25 messages stay pending while the database refuses them.
      expect(stats.pendingEndpoints).toBe(1);
    } finally {
      await outage.end();
    }
    for (let i = 0; i < 5; i++) await a.send(`after-${i}`);
    await b.waitForCount(30);
    await eventually(
      () => persisted(t, ep.id),
      (r) => r.messages === 30 && r.current === 2 && r.total === 2,
      {
        what: 'all 30 messages persisted after recovery',
        timeoutMs: 10_000,
      },
    );
    const text = await (
      await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${t.apiKey}` } })
    ).text();
    expect(
      Number(/relay_flush_rows_total\{kind="stats",outcome="failed"\} (\d+)/.exec(text)?.[1] ?? 0),
    ).toBeGreaterThan(0);
    await closeAll([a, b]);
  });
});

eachDb('batched mode', (db) => {
  beforeAll(() => requireDb(db));

  test('shutdown writes pending stats and device data that no timer flushed', async () => {
    const url = db.url();
    // An hour-long interval: only the shutdown flush can write these.
    const t = await startTestRelay(url, { STATS_MODE: 'batched', STATS_FLUSH_INTERVAL_MS: '3600000' });
    const ep = await t.createEndpoint('shutdown');
    const [a, b] = [await connect(t.wsUrl(ep.id, ep.token)), await connect(t.wsUrl(ep.id, ep.token))];
    for (let i = 0; i < 10; i++)
      await a.send(JSON.stringify({ type: 'device_data', deviceId: 'd1', data: { i } }));
    await b.waitForCount(10);
    expect(await persisted(t, ep.id)).toEqual({ current: 0, total: 0, messages: 0 });
    expect(await t.relay.db.prisma.deviceData.count({ where: { endpointId: ep.id } })).toBe(0);
    await t.relay.stop(); // closes both sockets, then drains

    const check = await startTestRelay(url, { STATS_MODE: 'batched' });
    try {
      expect(await persisted(check, ep.id)).toEqual({ current: 0, total: 2, messages: 10 });
      expect(await check.relay.db.prisma.deviceData.count({ where: { endpointId: ep.id } })).toBe(10);
    } finally {
      check.created.add(ep.id);
      await check.stop();
    }
  });

  test('stats statements do not grow with messages', async () => {
    const t = await startTestRelay(db.url(), { STATS_MODE: 'batched', STATS_FLUSH_INTERVAL_MS: '200' });
    try {
      const eps = await Promise.all([0, 1, 2, 3, 4].map((i) => t.createEndpoint(`load${i}`)));
      const pairs = await Promise.all(
        eps.map(async (ep) => [
          await connect(t.wsUrl(ep.id, ep.token)),
          await connect(t.wsUrl(ep.id, ep.token)),
        ]),
      );
      const updatesBefore = await t.relay.metrics.dbStatements.get();
      const count = (m: typeof updatesBefore) => m.values.find((v) => v.labels.verb === 'UPDATE')?.value ?? 0;
      const start = count(updatesBefore);
      for (let i = 0; i < 100; i++) await Promise.all(pairs.map(([a]) => a.send(`x${i}`)));
      await Promise.all(pairs.map(([, b]) => b.waitForCount(100)));
      await (t.relay.stats as BatchedStats).flush();
      const updates = count(await t.relay.metrics.dbStatements.get()) - start;
      // 500 messages; one UPDATE per flush (about every 200 ms), never one per message.
      expect(updates).toBeGreaterThan(0);
      expect(updates).toBeLessThan(25);
      for (const ep of eps) expect((await persisted(t, ep.id)).messages).toBe(100);
      await closeAll(pairs.flat());
    } finally {
      await t.stop();
    }
  });

  test('a full device-data queue refuses readings with an error instead of growing', async () => {
    const t = await startTestRelay(db.url(), {
      STATS_MODE: 'batched',
      STATS_FLUSH_INTERVAL_MS: '3600000',
      DEVICE_DATA_QUEUE_MAX: '5',
      DEVICE_DATA_BATCH_SIZE: '1000',
    });
    try {
      const ep = await t.createEndpoint('full');
      const [a, b] = [await connect(t.wsUrl(ep.id, ep.token)), await connect(t.wsUrl(ep.id, ep.token))];
      for (let i = 0; i < 8; i++)
        await a.send(JSON.stringify({ type: 'device_data', deviceId: 'd', data: { i } }));
      await b.waitForCount(8); // every frame is still forwarded
      await a.waitFor((f) => f.length >= 3, 5000, '3 queue-full errors');
      const errors = a.json<{ type: string; message: string }>().filter((m) => m.type === 'error');
      expect(errors).toHaveLength(3);
      expect(errors[0].message).toMatch(/queue is full/);
      const text = await (
        await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${t.apiKey}` } })
      ).text();
      expect(text).toMatch(/^relay_device_data_dropped_total 3$/m);
      expect(text).toMatch(/^relay_device_data_queued 5$/m);
      await closeAll([a, b]);
    } finally {
      await t.stop();
    }
  });

  test('the query indexes exist in the catalog', async () => {
    const t = await startTestRelay(db.url(), {});
    try {
      const prisma = t.relay.db.prisma;
      let indexes: string[];
      if (db.name === 'sqlite') {
        const rows = await prisma.$queryRawUnsafe<{ name: string }[]>(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
        );
        indexes = rows.map((r) => r.name);
      } else {
        const rows = await prisma.$queryRawUnsafe<{ name: string }[]>(
          'SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()',
        );
        indexes = rows.map((r) => r.name);
      }
      expect(indexes).toEqual(
        expect.arrayContaining([
          'DeviceData_endpointId_deviceId_createdAt_idx',
          'Alert_endpointId_createdAt_idx',
          'AlertRule_endpointId_enabled_idx',
          'Alert_ruleId_idx',
        ]),
      );
    } finally {
      await t.stop();
    }
  });
});
