/**
 * The database writer thread (BULK_WRITES=thread, the default), on both databases: rows it
 * writes read back through Prisma exactly as Prisma's own writes do, its errors classify like
 * Prisma's, a dead thread fails only the statements it held, close() finishes what was posted,
 * /metrics counts its statements under Prisma's labels, the batched stats flush runs on it, and
 * on SQLite a statement waiting for the write lock leaves the event loop free.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { createDb, type DbHandle } from '../src/db/client';
import { classifyWriteFailure, dialectOf, isForeignKeyViolation } from '../src/db/dialects';
import { WorkerRunner } from '../src/db/bulk/worker-runner';
import { prismaRunner, type StatementRunner } from '../src/db/bulk/statement-runner';
import { runnerAlertStore } from '../src/services/alert.service';
import { BatchedStats } from '../src/services/stats/batched-stats';
import { migrate } from '../src/db/migrator';
import { insertDeviceRows, prepareRow, type PreparedRow } from '../src/services/device-data/batch-insert';
import type { DeviceRow } from '../src/services/device-data/device-data-writer';
import { eachDb, requireDb } from './helpers/databases';

/** A prepared row whose payload is SQL NULL: the column's NOT NULL refuses it on every database. */
const nullPayload = (row: DeviceRow): PreparedRow => ({ row, json: null as unknown as string, bytes: 0 });

const failureOf = (work: Promise<unknown>) =>
  work.then(
    () => {
      throw new Error('expected the statement to fail');
    },
    (err: unknown) => err,
  );

eachDb('database writer thread', (db) => {
  let url: string;
  let handle: DbHandle;
  const endpointId = `thr-${randomBytes(4).toString('hex')}`;
  const dialect = dialectOf(db.name);
  /** A fresh thread runner on the test's database, as the relay opens it. */
  const threadRunner = () => {
    const runner = dialect.openStatementRunner(url, { bulkWrites: 'thread', sqliteBusyTimeoutMs: 5000 });
    if (!runner) throw new Error('no thread runner');
    return runner;
  };
  /** Codes the driver gives each refusal (SQLite's names, MySQL's errno). */
  const codes =
    db.name === 'sqlite'
      ? {
          notNull: 'SQLITE_CONSTRAINT_NOTNULL',
          foreignKey: 'SQLITE_CONSTRAINT_FOREIGNKEY',
          noTable: 'SQLITE_ERROR',
        }
      : { notNull: '1048', foreignKey: '1452', noTable: '1146' };

  beforeAll(async () => {
    requireDb(db);
    url = db.url();
    await migrate(url);
    handle = createDb({ url });
    await handle.prisma.endpoint.create({ data: { id: endpointId, name: endpointId, tokenHash: 'x' } });
  });
  afterAll(async () => {
    await handle?.prisma.endpoint.deleteMany({ where: { id: endpointId } });
    await handle?.close();
  });

  const row = (deviceId: string, payload: unknown, createdAt = new Date()): DeviceRow => ({
    endpointId,
    deviceId,
    payload: payload as never,
    createdAt,
  });
  const insert = (runner: StatementRunner, rows: PreparedRow[]) => insertDeviceRows(runner, db.name, rows);
  /** A DbHandle whose /metrics observer records what it saw, one line per statement and per timed operation. */
  const observedDb = () => {
    const seen: string[] = [];
    const observed = createDb({
      url,
      observer: {
        statement: (verb) => seen.push(`statement ${verb}`),
        query: (model, operation, _s, failed) =>
          seen.push(`query ${model} ${operation} ${failed ? 'failed' : 'ok'}`),
      },
    });
    return { seen, observed };
  };

  test('the dialect opens a thread for BULK_WRITES=thread and none for prisma (nor for SQLite in memory)', () => {
    const opts = (bulkWrites: 'thread' | 'prisma') => ({ bulkWrites, sqliteBusyTimeoutMs: 1 });
    expect(dialect.openStatementRunner(url, opts('thread'))).toBeInstanceOf(WorkerRunner);
    expect(dialect.openStatementRunner(url, opts('prisma'))).toBeNull();
    if (db.name === 'sqlite') expect(dialect.openStatementRunner('file::memory:', opts('thread'))).toBeNull();
  });

  test('rows it writes read back through Prisma like Prisma writes them: time, payload, range queries', async () => {
    const runner = threadRunner();
    try {
      const t0 = new Date('2026-11-30T10:00:00.123Z');
      const t1 = new Date('2026-11-30T10:00:01.000Z'); // whole second: Prisma's MySQL text has no .000
      await insert(runner, [
        prepareRow(row('thread', { v: 1, s: 'é\u{1F600}', nested: { a: [1, 2] } }, t0)),
        prepareRow(row('thread', { v: 2 }, t1)),
      ]);
      await handle.prisma.deviceData.create({
        data: { endpointId, deviceId: 'prisma', payload: { v: 3 }, createdAt: t0 },
      });
      const viaThread = await handle.prisma.deviceData.findMany({
        where: { endpointId, deviceId: 'thread' },
        orderBy: { id: 'asc' },
      });
      expect(viaThread.map((r) => [r.createdAt.toISOString(), r.payload])).toEqual([
        [t0.toISOString(), { v: 1, s: 'é\u{1F600}', nested: { a: [1, 2] } }],
        [t1.toISOString(), { v: 2 }],
      ]);
      // Stored as the same value as Prisma's own write of the same instant, so comparisons agree.
      const same = await handle.prisma.deviceData.findMany({
        where: { endpointId, createdAt: t0 },
        orderBy: { deviceId: 'asc' },
      });
      expect(same.map((r) => r.deviceId)).toEqual(['prisma', 'thread']);
      const inRange = await handle.prisma.deviceData.findMany({
        where: { endpointId, deviceId: 'thread', createdAt: { gt: t0, lte: t1 } },
      });
      expect(inRange.map((r) => r.payload)).toEqual([{ v: 2 }]);
    } finally {
      await runner.close();
    }
  });

  test("its errors classify like Prisma's: refused rows, a foreign key, a missing table is the database", async () => {
    const runner = threadRunner();
    try {
      const notNull = await failureOf(insert(runner, [nullPayload(row('x', {}))]));
      expect(notNull).toMatchObject({ name: 'DriverError', driverCode: codes.notNull });
      expect(classifyWriteFailure(dialect, notNull)).toBe('rejected');
      expect(isForeignKeyViolation(notNull)).toBe(false);
      const orphan = await failureOf(
        insert(runner, [prepareRow({ ...row('x', { v: 1 }), endpointId: 'gone' })]),
      );
      expect(orphan).toMatchObject({ driverCode: codes.foreignKey });
      expect(classifyWriteFailure(dialect, orphan)).toBe('rejected');
      expect(isForeignKeyViolation(orphan)).toBe(true);
      // Not the rows' fault: the writer keeps them and retries.
      const missing = await failureOf(runner.run({ sql: 'INSERT INTO NoSuchTable VALUES (1)', params: [] }));
      expect(missing).toMatchObject({ driverCode: codes.noTable });
      expect(classifyWriteFailure(dialect, missing)).toBe('unavailable');
    } finally {
      await runner.close();
    }
  });

  test('a thread that dies fails the statements it held as unavailable; the next statement starts a new one', async () => {
    const runner = threadRunner();
    try {
      await insert(runner, [prepareRow(row('death', { i: 0 }))]);
      const worker = (runner as unknown as { worker: Worker }).worker;
      const held = insert(runner, [prepareRow(row('death', { i: 1 }))]);
      await worker.terminate();
      const err = await held.then(
        () => null,
        (e: unknown) => e,
      );
      // Either it ran before the kill or it failed as unavailable (never as refused rows).
      if (err) expect(classifyWriteFailure(dialect, err)).toBe('unavailable');
      await insert(runner, [prepareRow(row('death', { i: 2 }))]);
      expect((runner as unknown as { worker: Worker }).worker).not.toBe(worker);
      const stored = await handle.prisma.deviceData.findMany({
        where: { endpointId, deviceId: 'death' },
        orderBy: { id: 'asc' },
      });
      const values = stored.map((r) => (r.payload as { i: number }).i);
      // A statement the thread had already sent may have been committed although its caller was
      // told it failed (the ambiguity of any connection lost after sending): never lost, and
      // the statement after it is written.
      if (err)
        expect([
          [0, 2],
          [0, 1, 2],
        ]).toContainEqual(values);
      else expect(values).toEqual([0, 1, 2]);
    } finally {
      await runner.close();
    }
  });

  test("a single-row INSERT reports the row's key; the alert store returns it with the stored time", async () => {
    const runner = threadRunner();
    try {
      const { insertId } = await runner.run(
        dialect.insertRows({
          table: 'DeviceData',
          columns: ['endpointId', 'deviceId', 'payload', 'createdAt'],
          values: [endpointId, 'key', '{"v":1}', new Date()],
        }),
      );
      const stored = await handle.prisma.deviceData.findFirstOrThrow({
        where: { endpointId, deviceId: 'key' },
      });
      expect(insertId).toBe(stored.id);

      const rule = await handle.prisma.alertRule.create({
        data: { endpointId, field: 'v', operator: '>', threshold: 0 },
      });
      const store = runnerAlertStore(runner, db.name);
      const first = await store({ ruleId: rule.id, endpointId, deviceId: 'key', value: 1.5 });
      const second = await store({ ruleId: rule.id, endpointId, deviceId: 'key', value: 2.5 });
      const rows = await handle.prisma.alert.findMany({ where: { ruleId: rule.id }, orderBy: { id: 'asc' } });
      expect(rows.map((r) => [r.id, r.value, r.createdAt.toISOString()])).toEqual([
        [first.id, 1.5, first.createdAt.toISOString()],
        [second.id, 2.5, second.createdAt.toISOString()],
      ]);
      // Prisma's raw API cannot report keys: the store refuses it rather than return a wrong one.
      expect(() => runnerAlertStore(prismaRunner(handle.prisma), db.name)).toThrow('insert ids');
    } finally {
      await runner.close();
    }
  });

  test('close() lets posted statements finish in order, then refuses new ones; closing twice is fine', async () => {
    const runner = threadRunner();
    const posted = Array.from({ length: 5 }, (_, i) => insert(runner, [prepareRow(row('close', { i }))]));
    const closed = runner.close();
    await Promise.all(posted);
    await closed;
    await runner.close();
    await expect(runner.run({ sql: 'SELECT 1', params: [] })).rejects.toThrow(
      'the database writer thread is closed',
    );
    const stored = await handle.prisma.deviceData.findMany({
      where: { endpointId, deviceId: 'close' },
      orderBy: { id: 'asc' },
    });
    expect(stored.map((r) => (r.payload as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });

  test('/metrics labels: its statements count as INSERT and its time as <table>.threadInsert, failures too', async () => {
    const { seen, observed } = observedDb();
    try {
      await insert(observed.statements, [prepareRow(row('metrics', { v: 1 }))]);
      await insert(observed.statements, [nullPayload(row('metrics', {}))]).catch(() => undefined);
      expect(seen).toEqual([
        'statement INSERT',
        'query DeviceData threadInsert ok',
        'statement INSERT',
        'query DeviceData threadInsert failed',
      ]);
    } finally {
      await observed.close();
    }
  });

  test('the batched stats flush runs on it: deltas applied exactly, read back through Prisma, labelled raw.threadStatement', async () => {
    await handle.prisma.endpointStats.upsert({ where: { endpointId }, create: { endpointId }, update: {} });
    const before = await handle.prisma.endpointStats.findUniqueOrThrow({ where: { endpointId } });
    const { seen, observed } = observedDb();
    const stats = new BatchedStats(observed.prisma, {
      provider: db.name,
      flushIntervalMs: 60_000,
      maxPendingEndpoints: 1000,
      statements: observed.statements,
    });
    try {
      stats.recordConnect(endpointId);
      for (let i = 0; i < 3; i++) stats.recordMessage(endpointId);
      await stats.flush();
      const after = await handle.prisma.endpointStats.findUniqueOrThrow({ where: { endpointId } });
      expect([
        after.currentConnections - before.currentConnections,
        after.totalConnections - before.totalConnections,
        after.totalMessages - before.totalMessages,
      ]).toEqual([1, 1, 3]);
      expect(after.lastMessageAt).not.toBeNull();
      // One UPDATE on the thread's connection, none through Prisma's raw API.
      expect(seen).toEqual(['statement UPDATE', 'query raw threadStatement ok']);
    } finally {
      await stats.drain(1000);
      await observed.close();
    }
  });

  if (db.name === 'sqlite') {
    test('a statement waiting for the SQLite write lock leaves the event loop free', async () => {
      // Another connection holds the write lock. On the event loop (BULK_WRITES=prisma) the
      // statement would spin in SQLite's busy handler there and no timer could fire meanwhile.
      const holder = new Database(url.replace(/^file:/, ''));
      holder.exec('BEGIN IMMEDIATE');
      let released = false;
      const written = insert(handle.statements, [prepareRow(row('locked', { v: 1 }))]).then(() => released);
      await new Promise((resolve) => setTimeout(resolve, 200)); // fires only if the loop is free
      released = true;
      holder.exec('COMMIT');
      holder.close();
      expect(await written).toBe(true); // written once the lock was released, not before
      expect(await handle.prisma.deviceData.count({ where: { endpointId, deviceId: 'locked' } })).toBe(1);
    });

    test('a lock held past the busy timeout fails the statement as SQLITE_BUSY (unavailable); the thread then writes again', async () => {
      // The thread keeps the busy timeout itself (SQLite's own is 0, see worker.ts): it must still
      // give up after it, with SQLite's error, and not before.
      const runner = dialect.openStatementRunner(url, { bulkWrites: 'thread', sqliteBusyTimeoutMs: 150 })!;
      const holder = new Database(url.replace(/^file:/, ''));
      holder.exec('BEGIN EXCLUSIVE');
      try {
        const started = performance.now();
        const err = await failureOf(insert(runner, [prepareRow(row('busy', { v: 1 }))]));
        const waited = performance.now() - started;
        expect(err).toMatchObject({ name: 'DriverError', driverCode: 'SQLITE_BUSY' });
        expect(classifyWriteFailure(dialect, err)).toBe('unavailable');
        expect(waited).toBeGreaterThanOrEqual(145);
        holder.exec('ROLLBACK');
        await insert(runner, [prepareRow(row('busy', { v: 2 }))]);
        const rows = await handle.prisma.deviceData.findMany({ where: { endpointId, deviceId: 'busy' } });
        expect(rows.map((r) => (r.payload as { v: number }).v)).toEqual([2]);
      } finally {
        if (holder.inTransaction) holder.exec('ROLLBACK');
        holder.close();
        await runner.close();
      }
    });

    test('a stats flush waiting for the SQLite write lock leaves the event loop free', async () => {
      await handle.prisma.endpointStats.upsert({ where: { endpointId }, create: { endpointId }, update: {} });
      const stats = new BatchedStats(handle.prisma, {
        provider: db.name,
        flushIntervalMs: 60_000,
        maxPendingEndpoints: 1000,
        statements: handle.statements,
      });
      const holder = new Database(url.replace(/^file:/, ''));
      holder.exec('BEGIN IMMEDIATE');
      let released = false;
      try {
        stats.recordMessage(endpointId);
        const flushed = stats.flush().then(() => released);
        await new Promise((resolve) => setTimeout(resolve, 200)); // fires only if the loop is free
        released = true;
        holder.exec('COMMIT');
        expect(await flushed).toBe(true);
      } finally {
        if (!released) holder.exec('ROLLBACK');
        holder.close();
        await stats.drain(1000);
      }
    });
  } else {
    test('an unreachable server is an unavailable database, answered within the connect timeout', async () => {
      const down = new URL(url);
      down.port = '1';
      const runner = dialect.openStatementRunner(down.toString(), {
        bulkWrites: 'thread',
        sqliteBusyTimeoutMs: 1,
      })!;
      try {
        const err = await failureOf(insert(runner, [prepareRow(row('down', { v: 1 }))]));
        expect(classifyWriteFailure(dialect, err)).toBe('unavailable');
      } finally {
        await runner.close();
      }
    }, 20_000);

    test('close(deadline) ends a thread stuck on a server that never answers near the deadline, failing its statement', async () => {
      // A listener that accepts and never speaks: the driver waits for the handshake until its
      // connect timeout (3 s), the shape of a database that hangs rather than refuses.
      const silent = net.createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const stuck = new URL(url);
      stuck.port = String((silent.address() as net.AddressInfo).port);
      const runner = dialect.openStatementRunner(stuck.toString(), {
        bulkWrites: 'thread',
        sqliteBusyTimeoutMs: 1,
      })!;
      try {
        const statement = failureOf(insert(runner, [prepareRow(row('stuck', { v: 1 }))]));
        await new Promise((resolve) => setTimeout(resolve, 100));
        const started = Date.now();
        await runner.close(300);
        const took = Date.now() - started;
        expect(took).toBeGreaterThanOrEqual(250);
        expect(took).toBeLessThan(2500); // well before the driver's own 3 s connect timeout
        expect(classifyWriteFailure(dialect, await statement)).toBe('unavailable');
      } finally {
        await runner.close();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    }, 20_000);
  }
});
