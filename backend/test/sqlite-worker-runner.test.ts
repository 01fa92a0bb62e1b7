/**
 * The SQLite writer thread (SQLITE_BULK_WRITES=thread, the default on a SQLite file): rows it
 * writes read back through Prisma exactly as Prisma's own writes do, its errors classify like
 * Prisma's, a dead thread fails only the statements it held, close() finishes what was posted,
 * and /metrics counts its statements under the same labels as Prisma's.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { createDb, type DbHandle } from '../src/db/client';
import { classifyWriteFailure, dialectOf, isForeignKeyViolation } from '../src/db/dialects';
import { migrate } from '../src/db/migrator';
import { SqliteWorkerRunner } from '../src/db/sqlite-bulk/sqlite-worker-runner';
import { insertDeviceRows, prepareRow, type PreparedRow } from '../src/services/device-data/batch-insert';
import type { DeviceRow } from '../src/services/device-data/device-data-writer';
import { tempSqliteUrl } from './helpers/databases';

const sqlite = dialectOf('sqlite');
const fileOf = (url: string) => url.replace(/^file:/, '');
/** A prepared row whose payload is SQL NULL: the column's NOT NULL refuses it on every runner. */
const nullPayload = (row: DeviceRow): PreparedRow => ({ row, json: null as unknown as string, bytes: 0 });

describe('SqliteWorkerRunner', () => {
  let url: string;
  let handle: DbHandle;
  const endpointId = `thr-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    url = tempSqliteUrl('writer-thread');
    await migrate(url);
    handle = createDb({ url });
    await handle.prisma.endpoint.create({ data: { id: endpointId, name: endpointId, tokenHash: 'x' } });
  });
  afterAll(async () => {
    await handle?.close();
  });

  const row = (deviceId: string, payload: unknown, createdAt: Date): DeviceRow => ({
    endpointId,
    deviceId,
    payload: payload as never,
    createdAt,
  });

  test('createDb runs the bulk statements off the event loop: one waiting on a lock leaves the loop free', async () => {
    // Another connection holds SQLite's write lock; a statement run on the event loop would
    // spin in the busy handler there, and no timer could fire until it got the lock.
    const holder = new Database(fileOf(url));
    holder.exec('BEGIN IMMEDIATE');
    let released = false;
    const insert = insertDeviceRows(handle.statements, 'sqlite', [
      prepareRow(row('locked', { v: 1 }, new Date())),
    ]).then(() => released);
    await new Promise((resolve) => setTimeout(resolve, 200)); // fires only if the loop is free
    released = true;
    holder.exec('COMMIT');
    holder.close();
    expect(await insert).toBe(true); // written once the lock was released, not before
    expect(await handle.prisma.deviceData.count({ where: { endpointId, deviceId: 'locked' } })).toBe(1);
  });

  test('the thread is for SQLite files only; SQLITE_BULK_WRITES=event-loop and :memory: use Prisma', () => {
    const opts = (sqliteBulkWrites: 'thread' | 'event-loop') => ({
      sqliteBusyTimeoutMs: 1,
      sqliteBulkWrites,
    });
    expect(sqlite.openStatementRunner(url, opts('thread'))).toBeInstanceOf(SqliteWorkerRunner);
    expect(sqlite.openStatementRunner(url, opts('event-loop'))).toBeNull();
    expect(sqlite.openStatementRunner('file::memory:', opts('thread'))).toBeNull();
    expect(dialectOf('mysql').openStatementRunner('mysql://x@h/db', opts('thread'))).toBeNull();
  });

  test('rows it writes read back through Prisma like Prisma writes them: time, payload, range queries', async () => {
    const runner = new SqliteWorkerRunner(fileOf(url), 5000);
    try {
      const t0 = new Date('2026-11-30T10:00:00.123Z');
      const t1 = new Date('2026-11-30T10:00:01.456Z');
      await insertDeviceRows(runner, 'sqlite', [
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
      // Stored as the same text as Prisma's own write of the same instant, so comparisons agree.
      const raw = await handle.prisma.$queryRawUnsafe<{ deviceId: string; createdAt: string }[]>(
        'SELECT deviceId, CAST(createdAt AS TEXT) AS createdAt FROM DeviceData WHERE endpointId = ? AND createdAt = ? ORDER BY deviceId',
        endpointId,
        '2026-11-30T10:00:00.123+00:00',
      );
      expect(raw.map((r) => r.deviceId)).toEqual(['prisma', 'thread']);
      const inRange = await handle.prisma.deviceData.findMany({
        where: { endpointId, deviceId: 'thread', createdAt: { gt: t0, lte: t1 } },
      });
      expect(inRange.map((r) => r.payload)).toEqual([{ v: 2 }]);
    } finally {
      await runner.close();
    }
  });

  test("its errors classify like Prisma's: constraint refusals are the rows, a missing endpoint is a foreign key", async () => {
    const runner = new SqliteWorkerRunner(fileOf(url), 5000);
    const failure = (rows: PreparedRow[]) =>
      insertDeviceRows(runner, 'sqlite', rows).then(
        () => {
          throw new Error('expected a refusal');
        },
        (err: unknown) => err,
      );
    try {
      const notNull = await failure([nullPayload(row('x', {}, new Date()))]);
      expect(notNull).toMatchObject({ name: 'SqliteWorkerError', code: 'SQLITE_CONSTRAINT_NOTNULL' });
      expect(classifyWriteFailure(sqlite, notNull)).toBe('rejected');
      expect(isForeignKeyViolation(notNull)).toBe(false);
      const orphan = await failure([
        prepareRow({ ...row('x', { v: 1 }, new Date()), endpointId: 'no-such-endpoint' }),
      ]);
      expect(orphan).toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
      expect(isForeignKeyViolation(orphan)).toBe(true);
      // A database that is not there: not the rows' fault, so the writer keeps them.
      const missing = await runner
        .run({ sql: 'INSERT INTO NoSuchTable VALUES (1)', params: [] })
        .catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: 'SQLITE_ERROR' });
      expect(classifyWriteFailure(sqlite, missing)).toBe('unavailable');
    } finally {
      await runner.close();
    }
  });

  test('a thread that dies fails the statements it held as unavailable; the next statement starts a new one', async () => {
    const runner = new SqliteWorkerRunner(fileOf(url), 5000);
    try {
      await insertDeviceRows(runner, 'sqlite', [prepareRow(row('death', { i: 0 }, new Date()))]);
      const worker = (runner as unknown as { worker: Worker }).worker;
      // Posted, then the thread is killed before (or while) running it.
      const held = insertDeviceRows(runner, 'sqlite', [prepareRow(row('death', { i: 1 }, new Date()))]);
      await worker.terminate();
      const err = await held.then(
        () => null,
        (e: unknown) => e,
      );
      // Either the statement ran before the kill or it failed as unavailable (never "rejected").
      if (err) expect(classifyWriteFailure(sqlite, err)).toBe('unavailable');
      await insertDeviceRows(runner, 'sqlite', [prepareRow(row('death', { i: 2 }, new Date()))]);
      expect((runner as unknown as { worker: Worker }).worker).not.toBe(worker);
      const stored = await handle.prisma.deviceData.findMany({ where: { endpointId, deviceId: 'death' } });
      expect(stored.map((r) => (r.payload as { i: number }).i)).toEqual(err ? [0, 2] : [0, 1, 2]);
    } finally {
      await runner.close();
    }
  });

  test('close() lets posted statements finish, then refuses new ones; closing twice is fine', async () => {
    const runner = new SqliteWorkerRunner(fileOf(url), 5000);
    const posted = Array.from({ length: 5 }, (_, i) =>
      insertDeviceRows(runner, 'sqlite', [prepareRow(row('close', { i }, new Date()))]),
    );
    const closed = runner.close();
    await Promise.all(posted);
    await closed;
    await runner.close();
    await expect(runner.run({ sql: 'SELECT 1', params: [] })).rejects.toThrow(
      'the SQLite writer thread is closed',
    );
    expect(await handle.prisma.deviceData.count({ where: { endpointId, deviceId: 'close' } })).toBe(5);
  });

  test('/metrics labels: its statements count as INSERT and its time as raw $executeRawUnsafe, failures too', async () => {
    const seen: string[] = [];
    const observed = createDb({
      url,
      observer: {
        statement: (verb) => seen.push(`statement ${verb}`),
        query: (model, operation, _s, failed) =>
          seen.push(`query ${model} ${operation} ${failed ? 'failed' : 'ok'}`),
      },
    });
    try {
      await insertDeviceRows(observed.statements, 'sqlite', [
        prepareRow(row('metrics', { v: 1 }, new Date())),
      ]);
      await insertDeviceRows(observed.statements, 'sqlite', [
        nullPayload(row('metrics', {}, new Date())),
      ]).catch(() => undefined);
      expect(seen).toEqual([
        'statement INSERT',
        'query raw $executeRawUnsafe ok',
        'statement INSERT',
        'query raw $executeRawUnsafe failed',
      ]);
    } finally {
      await observed.close();
    }
  });
});
