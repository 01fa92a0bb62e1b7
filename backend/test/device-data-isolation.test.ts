import Database from 'better-sqlite3';
import * as mariadb from 'mariadb';
import { randomBytes } from 'node:crypto';
import { createDb } from '../src/db/client';
import { classifyWriteFailure, dialectOf } from '../src/db/dialects';
import { mysqlConnectionOptions } from '../src/db/mysql-url';
import { migrate } from '../src/db/migrator';
import type { Db } from '../src/db/prisma';
import { prismaRunner, type StatementRunner } from '../src/db/bulk/statement-runner';
import { BatchedDeviceDataWriter } from '../src/services/device-data/batched-device-data-writer';
import type { DeviceRow } from '../src/services/device-data/device-data-writer';
import { eachDb, requireDb } from './helpers/databases';
import { startTestRelay } from './helpers/relay';
import { connect, eventually } from './helpers/ws';

/** Records the writer's INSERT statements (as 'insert' in `events`) while running them for real. */
function recordingInserts(runner: StatementRunner, events: string[] = []) {
  const recorded: StatementRunner = {
    insertIds: runner.insertIds,
    run: (statement) => {
      if (statement.sql.startsWith('INSERT')) events.push('insert');
      return runner.run(statement);
    },
    close: () => runner.close(),
  };
  return { runner: recorded, inserts: () => events.filter((e) => e === 'insert').length, events };
}

/**
 * The two ways the batches reach the database: the writer thread's own connection (BULK_WRITES=
 * thread, the default) and Prisma's raw API on the relay's connection (BULK_WRITES=prisma). Both
 * must isolate refused rows alike, on both databases.
 */
const RUNNERS = ['thread', 'prisma'] as const;

/**
 * A batch the database refuses part of: the refused rows are isolated by bisection and dropped
 * alone, every other row is written once and in order, and only an unavailable database holds
 * the queue. The refused rows bypass the door check (store() on the writer), standing for any
 * row the database refuses that the check does not foresee.
 */
eachDb('refused rows in a batch', (db) =>
  describe.each(RUNNERS)('through %s', (via) => {
    let url = '';
    let prisma: Db;
    let endpointId = '';
    let statements: StatementRunner;

    beforeAll(async () => {
      requireDb(db);
      url = db.url();
      await migrate(url);
      prisma = createDb({ url }).prisma;
      statements =
        (via === 'thread' &&
          dialectOf(db.name).openStatementRunner(url, { bulkWrites: 'thread', sqliteBusyTimeoutMs: 5000 })) ||
        prismaRunner(prisma);
      endpointId = `iso-${randomBytes(6).toString('hex')}`;
      await prisma.endpoint.create({ data: { id: endpointId, name: endpointId, tokenHash: 'x' } });
    });
    afterAll(async () => {
      await statements?.close();
      await prisma?.endpoint.deleteMany({ where: { id: endpointId } });
      await prisma?.$disconnect();
    });

    const good = (i: number): DeviceRow => ({
      endpointId,
      deviceId: 'good',
      payload: { i },
      createdAt: new Date(),
    });
    // NOT NULL payload: refused by both databases (SQLITE_CONSTRAINT_NOTNULL, MySQL 1048).
    const nullPayload = (): DeviceRow => ({
      endpointId,
      deviceId: 'bad',
      payload: undefined as never,
      createdAt: new Date(),
    });
    // Too deep for JSON.stringify: fails before reaching either driver.
    const overflowing = (): DeviceRow => {
      let v: unknown = 1;
      for (let i = 0; i < 1_000_000; i++) v = [v];
      return { endpointId, deviceId: 'bad', payload: v as never, createdAt: new Date() };
    };

    test('one refused row in 256 costs O(log n) statements; the others are written in order', async () => {
      const refused: number[] = [];
      const { runner, inserts } = recordingInserts(statements);
      const writer = new BatchedDeviceDataWriter(prisma, {
        statements: runner,
        provider: db.name,
        flushIntervalMs: 60_000,
        batchSize: 256,
        maxQueued: 10_000,
        onRefused: (n) => refused.push(n),
      });
      await prisma.deviceData.deleteMany({ where: { endpointId } });
      for (let i = 0; i < 256; i++) await writer.store(i === 100 ? nullPayload() : good(i));
      await writer.flush();
      expect(writer.queued).toBe(0);
      expect(refused).toEqual([1]);
      // 1 failed batch + at most 2 per halving level (log2 256 = 8) on the way down to the row.
      expect(inserts()).toBeLessThanOrEqual(1 + 2 * 8);
      const rows = await prisma.deviceData.findMany({ where: { endpointId }, orderBy: { id: 'asc' } });
      expect(rows.map((r) => (r.payload as { i: number }).i)).toEqual(
        [...Array(256).keys()].filter((i) => i !== 100),
      );
      await writer.drain();
    });

    test('several refused rows of different kinds, at the edges too, are each dropped alone', async () => {
      const refused: number[] = [];
      const writer = new BatchedDeviceDataWriter(prisma, {
        statements,
        provider: db.name,
        flushIntervalMs: 60_000,
        batchSize: 50,
        maxQueued: 10_000,
        onRefused: (n) => refused.push(n),
      });
      await prisma.deviceData.deleteMany({ where: { endpointId } });
      const bad = new Set([0, 17, 18, 49, 50, 119]);
      const extra = db.name === 'mysql' ? 1 : 0;
      for (let i = 0; i < 120; i++) {
        if (!bad.has(i)) await writer.store(good(i));
        else await writer.store(i === 18 ? overflowing() : nullPayload());
      }
      if (extra) {
        // MariaDB's CHECK (JSON_VALID) on the column: the finding's lone surrogate, past the door.
        await writer.store({ endpointId, deviceId: 'bad', payload: { v: '\udfff' }, createdAt: new Date() });
      }
      await writer.store(good(120));
      await writer.flush();
      expect(writer.queued).toBe(0);
      // One report per batch: 50 + 50 + 21 rows.
      expect(refused.reduce((a, b) => a + b, 0)).toBe(bad.size + extra);
      expect(refused).toHaveLength(3);
      const rows = await prisma.deviceData.findMany({ where: { endpointId }, orderBy: { id: 'asc' } });
      expect(rows.map((r) => (r.payload as { i: number }).i)).toEqual(
        [...Array(121).keys()].filter((i) => !bad.has(i)),
      );
      expect(rows.every((r) => r.deviceId === 'good')).toBe(true);
      await writer.drain();
    });

    test('a backlog is written one statement per event-loop turn: frames are handled between statements', async () => {
      const { runner, events } = recordingInserts(statements);
      const writer = new BatchedDeviceDataWriter(prisma, {
        statements: runner,
        provider: db.name,
        flushIntervalMs: 60_000,
        batchSize: 20,
        maxQueued: 10_000,
      });
      await prisma.deviceData.deleteMany({ where: { endpointId } });
      // Stored without awaiting, as frames of one burst: the 20th starts the early flush, the
      // other 80 queue behind it, five statements in all.
      for (let i = 0; i < 100; i++) void writer.store(good(i));
      // Stands for the socket callbacks of received frames: one per turn of the event loop.
      let ticking = true;
      const tick = () => {
        if (!ticking) return;
        events.push('turn');
        setImmediate(tick);
      };
      setImmediate(tick);
      await writer.flush();
      ticking = false;
      expect(writer.queued).toBe(0);
      const at = events.map((e, i) => [e, i] as const).filter(([e]) => e === 'insert');
      expect(at).toHaveLength(5);
      for (let k = 1; k < at.length; k++) expect(events.slice(at[k - 1][1], at[k][1])).toContain('turn');
      expect(await prisma.deviceData.count({ where: { endpointId } })).toBe(100);
      await writer.drain();
    });

    // MySQL answers a statement over max_allowed_packet (16 MiB by default) with 1153 or by
    // resetting the connection (which looks like an outage): batches are cut to the dialect's
    // maxStatementBytes, and a row over it alone is never sent but dropped as too_large.
    test('a batch over the statement size is written in parts; a row over it alone is dropped', async () => {
      const refused: [number, string][] = [];
      const writer = new BatchedDeviceDataWriter(prisma, {
        statements,
        provider: db.name,
        flushIntervalMs: 60_000,
        batchSize: 400,
        maxQueued: 10_000,
        onRefused: (n, reason) => refused.push([n, reason]),
      });
      await prisma.deviceData.deleteMany({ where: { endpointId } });
      const filler = 'x'.repeat(60_000);
      const huge = dialectOf(db.name).maxStatementBytes;
      for (let i = 0; i < 300; i++) {
        await writer.store({ ...good(i), payload: { i, filler } });
        if (i === 150)
          await writer.store({ ...good(i), deviceId: 'huge', payload: { filler: 'y'.repeat(huge) } });
      }
      await writer.flush();
      expect(writer.queued).toBe(0);
      expect(refused).toEqual([[1, 'too_large']]);
      const rows = await prisma.deviceData.findMany({
        where: { endpointId },
        orderBy: { id: 'asc' },
        select: { id: true, deviceId: true },
      });
      expect(rows).toHaveLength(300);
      expect(rows.every((r) => r.deviceId === 'good')).toBe(true);
      await writer.drain();
    }, 60_000);
  }),
);

/** The one place that decides "outage or bad rows", fed real errors of each database. */
eachDb('write failure classification', (db) => {
  const capture = async (work: Promise<unknown>) => {
    try {
      await work;
    } catch (err) {
      return err;
    }
    throw new Error('expected the statement to fail');
  };

  test('constraint and data errors are rejected rows; a locked or unreachable database is unavailable', async () => {
    requireDb(db);
    const url = db.url();
    await migrate(url);
    const dialect = dialectOf(db.name);
    const { prisma } = createDb({ url, sqliteJournalMode: 'delete', sqliteBusyTimeoutMs: 20 });
    const insert = (endpointId: string, deviceId: string, payload: string | null) =>
      prisma.$executeRawUnsafe(
        'INSERT INTO `DeviceData` (`endpointId`, `deviceId`, `payload`, `createdAt`) VALUES (?, ?, ?, ?)',
        endpointId,
        deviceId,
        payload,
        new Date(),
      );
    const id = `cls-${randomBytes(6).toString('hex')}`;
    try {
      await prisma.endpoint.create({ data: { id, name: id, tokenHash: 'x' } });
      const rejected = [
        await capture(insert('no-such-endpoint', 'd', '{}')),
        await capture(insert(id, 'd', null)),
        await capture(
          prisma.deviceData.create({ data: { endpointId: 'no-such-endpoint', deviceId: 'd', payload: {} } }),
        ),
      ];
      if (db.name === 'mysql') {
        rejected.push(await capture(insert(id, 'd'.repeat(192), '{}')));
        rejected.push(await capture(insert(id, 'd', '{"v":"\\udfff"}')));
        rejected.push(await capture(insert(id, 'd', '{"v":')));
      }
      for (const err of rejected)
        expect([classifyWriteFailure(dialect, err), err]).toEqual(['rejected', err]);
      expect(classifyWriteFailure(dialect, new RangeError('Maximum call stack size exceeded'))).toBe(
        'rejected',
      );
      expect(classifyWriteFailure(dialect, new Error('something we do not know'))).toBe('unavailable');

      let unavailable: unknown;
      if (db.name === 'sqlite') {
        const holder = new Database(url.replace(/^file:/, ''));
        holder.exec('BEGIN EXCLUSIVE');
        try {
          unavailable = await capture(insert(id, 'd', '{}'));
        } finally {
          holder.exec('ROLLBACK');
          holder.close();
        }
        expect(JSON.stringify(unavailable)).toContain('SQLITE_BUSY');
      } else {
        // A server that refuses connections: the pool times out acquiring one.
        const down = new URL(url);
        down.port = '1';
        const gone = createDb({ url: down.toString() }).prisma;
        unavailable = await capture(gone.$executeRawUnsafe('SELECT 1'));
        await gone.$disconnect();
      }
      expect(classifyWriteFailure(dialect, unavailable)).toBe('unavailable');
    } finally {
      await prisma.endpoint.deleteMany({ where: { id } });
      await prisma.$disconnect();
    }
  }, 30_000);
});

/**
 * A backlog that does not drain while the database still answers: writes blocked by a lock
 * (SQLite WAL: readers pass, the writer gets SQLITE_BUSY; MySQL: LOCK TABLES ... WRITE makes the
 * INSERT wait, SELECT 1 still answers). /health says so with 503, and recovers when it drains.
 */
eachDb('/health reports a device-data backlog', (db) => {
  test('503 with a reason while readings age past DEVICE_DATA_STALL_MS, 200 once written', async () => {
    requireDb(db);
    const url = db.url();
    const t = await startTestRelay(url, {
      STATS_MODE: 'batched',
      STATS_FLUSH_INTERVAL_MS: '50',
      DEVICE_DATA_STALL_MS: '300',
      SQLITE_JOURNAL_MODE: 'wal',
      SQLITE_BUSY_TIMEOUT_MS: '20',
    });
    let release: (() => Promise<void>) | undefined;
    try {
      const ep = await t.createEndpoint('backlog');
      expect((await t.request('GET', '/health')).status).toBe(200);
      if (db.name === 'sqlite') {
        const holder = new Database(url.replace(/^file:/, ''));
        holder.exec('BEGIN IMMEDIATE');
        release = async () => {
          holder.exec('ROLLBACK');
          holder.close();
        };
      } else {
        const conn = await mariadb.createConnection(mysqlConnectionOptions(url));
        await conn.query('LOCK TABLES `DeviceData` WRITE');
        release = async () => {
          await conn.query('UNLOCK TABLES');
          await conn.end();
        };
      }
      const c = await connect(t.wsUrl(ep.id, ep.token));
      await c.send(JSON.stringify({ type: 'device_data', deviceId: 'd', data: { v: 1 } }));
      const degraded = await eventually(
        () =>
          t.request<{ status: string; db: string; reason?: string; deviceDataBacklog?: { rows: number } }>(
            'GET',
            '/health',
          ),
        (r) => r.status === 503,
        { what: '/health 503', timeoutMs: 10_000, intervalMs: 100 },
      );
      expect(degraded.body).toMatchObject({
        status: 'degraded',
        db: 'up',
        reason: 'device data backlog',
        deviceDataBacklog: { rows: 1 },
      });
      await release();
      release = undefined;
      await eventually(
        () => t.request('GET', '/health'),
        (r) => r.status === 200,
        {
          what: '/health 200 after the backlog drained',
          timeoutMs: 20_000,
          intervalMs: 100,
        },
      );
      await c.close();
    } finally {
      await release?.();
      await t.stop();
    }
  }, 40_000);
});
