import type { Db } from '../src/db/prisma';
import type { RunResult, StatementRunner } from '../src/db/bulk/statement-runner';
import type { Statement } from '../src/db/dialects/dialect';
import { DriverError } from '../src/db/dialects';
import { logger } from '../src/logger';
import { RelayMetrics } from '../src/monitoring/metrics';
import { BatchedDeviceDataWriter } from '../src/services/device-data/batched-device-data-writer';
import { QueueFullError, type DeviceRow } from '../src/services/device-data/device-data-writer';
import { ImmediateDeviceDataWriter } from '../src/services/device-data/immediate-device-data-writer';
import type { FlushOutcome } from '../src/util/flush-scheduler';
import { delta, parsePrometheus } from '../../runner/prometheus';
import { deferred } from './helpers/deferred';

/*
 * BatchedDeviceDataWriter.flush() on fakes: a statement runner that records every INSERT (by
 * the deviceIds it carries) and answers as a database would, and a Prisma stub that knows which
 * endpoints exist. What is pinned here: which rows go in which statement and in what order,
 * what the writer reports (onFlush, onRefused, onOrphaned, the log line), and what stays
 * queued when the database goes away, and how /metrics counts a flush. The same behaviour against real databases is in
 * device-data-isolation.test.ts and device-data-outage.test.ts; these run in milliseconds.
 */

/** Answers of the fake database, by deviceId. */
interface FakeDb {
  /** deviceIds whose row the database refuses (a CHECK constraint, say) */
  refuse?: Set<string>;
  /** endpoints that no longer exist: their rows fail the foreign key */
  deleted?: Set<string>;
  /** endpoints the lookup still lists although their rows fail the foreign key */
  stillListed?: Set<string>;
  /** the database is unreachable from this statement on (1-based), until set back to Infinity */
  downFrom?: number;
  /** called before a statement is answered; may delay it */
  before?: (deviceIds: string[]) => Promise<void> | void;
}

const COLUMNS = 4; // endpointId, deviceId, payload, createdAt (batch-insert.ts)

type Provider = 'sqlite' | 'mysql';

/** Driver codes each dialect classifies: a refused row, a foreign-key failure, a database away. */
const CODES: Record<Provider, { refused: string; foreignKey: string; down: string }> = {
  sqlite: {
    refused: 'SQLITE_CONSTRAINT_CHECK',
    foreignKey: 'SQLITE_CONSTRAINT_FOREIGNKEY',
    down: 'SQLITE_BUSY',
  },
  mysql: { refused: '4025', foreignKey: '1452', down: '2013' },
};

function fakeRunner(db: FakeDb, provider: Provider) {
  const codes = CODES[provider];
  const statements: string[][] = [];
  const runner: StatementRunner = {
    insertIds: false,
    async run(statement: Statement): Promise<RunResult> {
      const endpoints = statement.params.filter((_v, i) => i % COLUMNS === 0) as string[];
      const devices = statement.params.filter((_v, i) => i % COLUMNS === 1) as string[];
      statements.push(devices);
      await db.before?.(devices);
      if (statements.length >= (db.downFrom ?? Infinity))
        throw new DriverError('database is locked', codes.down);
      if (endpoints.some((e) => db.deleted?.has(e)))
        throw new DriverError('FOREIGN KEY constraint failed', codes.foreignKey);
      if (devices.some((d) => db.refuse?.has(d)))
        throw new DriverError('first line\nCHECK constraint failed: payload', codes.refused);
      return { changes: devices.length };
    },
    close: async () => undefined,
  };
  return { runner, statements };
}

function fakePrisma(db: FakeDb) {
  const lookups: string[][] = [];
  const prisma = {
    endpoint: {
      findMany: async ({ where }: { where: { id: { in: string[] } } }) => {
        lookups.push(where.id.in);
        return where.id.in
          .filter((id) => !db.deleted?.has(id) || db.stillListed?.has(id))
          .map((id) => ({ id }));
      },
    },
  } as unknown as Db;
  return { prisma, lookups };
}

interface Reports {
  flushes: FlushOutcome[];
  refused: Array<[rows: number, reason: string]>;
  orphaned: number[];
  /** readings refused at store() because the queue was full */
  drops: number;
}

function setUp(
  db: FakeDb,
  options: { batchSize?: number; provider?: Provider; maxQueued?: number; runner?: StatementRunner } = {},
) {
  const fake = fakeRunner(db, options.provider ?? 'sqlite');
  const statements = fake.statements;
  const runner = options.runner ?? fake.runner;
  const { prisma, lookups } = fakePrisma(db);
  const reports: Reports = { flushes: [], refused: [], orphaned: [], drops: 0 };
  const writer = new BatchedDeviceDataWriter(prisma, {
    provider: options.provider ?? 'sqlite',
    flushIntervalMs: 3_600_000, // never on its own: the tests call flush()
    batchSize: options.batchSize ?? 100,
    maxQueued: options.maxQueued ?? 10_000,
    statements: runner,
    onFlush: (outcome) => reports.flushes.push(outcome),
    onRefused: (rows, reason) => reports.refused.push([rows, reason]),
    onOrphaned: (rows) => reports.orphaned.push(rows),
    onDrop: () => reports.drops++,
  });
  return { writer, statements, lookups, reports };
}

const row = (deviceId: string, endpointId = 'ep-1', payload: DeviceRow['payload'] = { v: 1 }): DeviceRow => ({
  endpointId,
  deviceId,
  payload,
  createdAt: new Date(1_700_000_000_000),
});

async function storeAll(writer: BatchedDeviceDataWriter, rows: DeviceRow[]): Promise<void> {
  for (const r of rows) await writer.store(r);
}

const ids = (n: number, prefix = 'd') => Array.from({ length: n }, (_x, i) => `${prefix}${i}`);

/** The flushes' row counts without their wall time. */
const counts = (reports: Reports) => reports.flushes.map(({ written, failed }) => ({ written, failed }));

let logError: jest.SpyInstance;
let logWarn: jest.SpyInstance;
beforeEach(() => {
  logError = jest.spyOn(logger, 'error').mockImplementation(() => logger);
  logWarn = jest.spyOn(logger, 'warn').mockImplementation(() => logger);
});
afterEach(() => jest.restoreAllMocks());

describe('BatchedDeviceDataWriter.flush: batches and order', () => {
  test('a backlog over batchSize goes out in batchSize statements, in arrival order', async () => {
    const { writer, statements, reports } = setUp({}, { batchSize: 4 });
    await storeAll(
      writer,
      ids(3).map((d) => row(d)),
    );
    // the 4th store reaches batchSize and starts a flush on its own; the rest join the queue
    await storeAll(
      writer,
      ids(7, 'e').map((d) => row(d)),
    );
    await writer.flush();
    expect(statements.flat()).toEqual([...ids(3), ...ids(7, 'e')]);
    expect(statements.map((s) => s.length)).toEqual([4, 4, 2]);
    expect(writer.queued).toBe(0);
    expect(counts(reports)).toEqual([
      { written: 4, failed: 0 },
      { written: 4, failed: 0 },
      { written: 2, failed: 0 },
    ]);
  });

  test('onFlush reports seconds, not milliseconds', async () => {
    const { writer, reports } = setUp({ before: () => new Promise((r) => setTimeout(r, 40)) });
    await writer.store(row('a'));
    await writer.flush();
    const [{ written, seconds }] = reports.flushes;
    expect(written).toBe(1);
    expect(seconds).toBeGreaterThanOrEqual(0.03);
    expect(seconds).toBeLessThan(5);
  });

  test('a flush with nothing queued runs no statement and reports nothing', async () => {
    const { writer, statements, reports } = setUp({});
    await writer.flush();
    expect(statements).toEqual([]);
    expect(reports.flushes).toEqual([]);
  });

  test('flush() while a flush runs joins it: each row is written once', async () => {
    const held = deferred();
    const { writer, statements } = setUp({ before: () => held.promise });
    await storeAll(
      writer,
      ids(3).map((d) => row(d)),
    );
    const first = writer.flush();
    const second = writer.flush();
    expect(second).toBe(first);
    held.resolve();
    await Promise.all([first, second]);
    expect(statements).toEqual([ids(3)]);
  });
});

describe('BatchedDeviceDataWriter.flush: rows the database refuses', () => {
  test('one refused row in 8 is isolated by bisection: exactly the statements of the halving', async () => {
    const { writer, statements, reports } = setUp({ refuse: new Set(['d5']) });
    await storeAll(
      writer,
      ids(8).map((d) => row(d)),
    );
    await writer.flush();
    expect(statements).toEqual([
      ids(8), // refused as a whole
      ['d0', 'd1', 'd2', 'd3'], // written
      ['d4', 'd5', 'd6', 'd7'], // refused
      ['d4', 'd5'], // refused
      ['d4'], // written
      ['d5'], // refused alone: dropped
      ['d6', 'd7'], // written
    ]);
    expect(writer.queued).toBe(0);
    expect(counts(reports)).toEqual([{ written: 7, failed: 0 }]);
    expect(reports.refused).toEqual([[1, 'refused']]);
  });

  test('refused rows are reported once per batch: one count per reason, one log line naming the first', async () => {
    const big = 'x'.repeat(8 * 2 ** 20); // over MySQL's maxStatementBytes (8 MiB) once serialised
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const { writer, statements, reports } = setUp({ refuse: new Set(['bad']) }, { provider: 'mysql' });
    await storeAll(writer, [
      row('huge-1', 'ep-h', { big }),
      row('ok-1'),
      row('cycle', 'ep-c', circular as DeviceRow['payload']),
      row('bad'),
      row('huge-2', 'ep-h', { big }),
      row('ok-2'),
    ]);
    await writer.flush();
    // neither the too-large rows nor the one JSON cannot encode are ever sent
    expect(statements.flat().filter((d) => d.startsWith('huge') || d === 'cycle')).toEqual([]);
    expect(statements).toEqual([['ok-1', 'bad', 'ok-2'], ['ok-1'], ['bad', 'ok-2'], ['bad'], ['ok-2']]);
    expect(reports.refused).toEqual([
      [2, 'too_large'],
      [2, 'refused'],
    ]);
    expect(counts(reports)).toEqual([{ written: 2, failed: 0 }]);
    expect(writer.queued).toBe(0);
    expect(logError).toHaveBeenCalledTimes(1);
    expect(logError).toHaveBeenCalledWith('device data refused; rows dropped', {
      rows: 4,
      reason: 'too_large',
      endpointId: 'ep-h',
      deviceId: 'huge-1',
      error: expect.stringMatching(/^payload of \d+ bytes$/),
    });
  });

  test("the log line carries the last line of the driver's message", async () => {
    const { writer } = setUp({ refuse: new Set(['bad']) });
    await writer.store(row('bad'));
    await writer.flush();
    expect(logError).toHaveBeenCalledWith('device data refused; rows dropped', {
      rows: 1,
      reason: 'refused',
      endpointId: 'ep-1',
      deviceId: 'bad',
      error: 'CHECK constraint failed: payload',
    });
  });

  test('rows refused before the statement count towards batchSize', async () => {
    const held = deferred();
    const db: FakeDb = { before: () => held.promise };
    const { writer, statements, reports } = setUp(db, { batchSize: 4, provider: 'mysql' });
    const big = 'x'.repeat(8 * 2 ** 20);
    // a flush in flight, so the five rows below queue up behind it without starting their own
    await writer.store(row('first'));
    const flushing = writer.flush();
    await storeAll(writer, [row('huge', 'ep-1', { big }), row('a'), row('b'), row('c'), row('d')]);
    db.before = undefined;
    held.resolve();
    await flushing;
    expect(statements).toEqual([['first'], ['a', 'b', 'c'], ['d']]);
    expect(reports.refused).toEqual([[1, 'too_large']]);
  });

  test('a batch over the statement size is cut before the row that would cross it', async () => {
    const third = 'y'.repeat(3 * 2 ** 20); // three such rows (9 MiB) pass MySQL's 8 MiB
    const { writer, statements, reports } = setUp({}, { provider: 'mysql' });
    await storeAll(writer, [
      row('a', 'ep-1', { third }),
      row('b', 'ep-1', { third }),
      row('c', 'ep-1', { third }),
    ]);
    await writer.flush();
    expect(statements).toEqual([['a', 'b'], ['c']]);
    expect(reports.refused).toEqual([]);
  });
});

describe('BatchedDeviceDataWriter.flush: endpoints deleted while their rows wait', () => {
  test("a foreign-key failure forgets the deleted endpoint's rows, queued ones too, and writes the rest in one statement", async () => {
    const held = deferred();
    const db: FakeDb = { deleted: new Set(['gone']), before: () => held.promise };
    const { writer, statements, lookups, reports } = setUp(db, { batchSize: 4 });
    await storeAll(writer, [row('a'), row('g1', 'gone'), row('b'), row('g2', 'gone', { v: 2 })]);
    // the 4th store started a flush; one more row of the deleted endpoint queues behind it
    await writer.store(row('g3', 'gone'));
    db.before = undefined;
    held.resolve();
    await writer.flush();
    expect(statements).toEqual([
      ['a', 'g1', 'b', 'g2'],
      ['a', 'b'],
    ]);
    expect(lookups).toEqual([['ep-1', 'gone']]); // each endpoint asked about once
    expect(reports.orphaned).toEqual([3]); // g1, g2 and the queued g3
    expect(reports.refused).toEqual([]);
    expect(counts(reports)).toEqual([{ written: 2, failed: 0 }]);
    expect(writer.queued).toBe(0);
    expect(logWarn).toHaveBeenCalledWith('dropped device data of deleted endpoints', { endpoints: 1 });
  });

  test('a batch of deleted endpoints only: no second statement', async () => {
    const { writer, statements, reports } = setUp({ deleted: new Set(['gone']) });
    await storeAll(writer, [row('g1', 'gone'), row('g2', 'gone')]);
    await writer.flush();
    expect(statements).toEqual([['g1', 'g2']]);
    expect(reports.orphaned).toEqual([2]);
    expect(counts(reports)).toEqual([{ written: 0, failed: 0 }]);
  });

  test('a foreign-key failure whose endpoints all still exist is bisected like any refused row', async () => {
    const db: FakeDb = { deleted: new Set(['flaky']), stillListed: new Set(['flaky']) };
    const { writer, statements, lookups, reports } = setUp(db);
    await storeAll(writer, [row('a'), row('f', 'flaky')]);
    await writer.flush();
    expect(statements).toEqual([['a', 'f'], ['a'], ['f']]);
    expect(lookups).toEqual([['ep-1', 'flaky'], ['flaky']]);
    expect(reports.orphaned).toEqual([]);
    expect(reports.refused).toEqual([[1, 'refused']]);
    expect(logWarn).not.toHaveBeenCalled();
  });
});

describe('BatchedDeviceDataWriter.flush: the database goes away', () => {
  test('an unavailable database rejects the flush and keeps every unwritten row, in order', async () => {
    const db: FakeDb = { downFrom: 1 };
    const { writer, statements, reports } = setUp(db);
    await storeAll(
      writer,
      ids(3).map((d) => row(d)),
    );
    await expect(writer.flush()).rejects.toThrow('database is locked');
    expect(writer.queued).toBe(3);
    expect(counts(reports)).toEqual([{ written: 0, failed: 3 }]);
    db.downFrom = Infinity;
    await writer.store(row('later'));
    await writer.flush();
    expect(statements.slice(1)).toEqual([[...ids(3), 'later']]);
    expect(writer.queued).toBe(0);
    expect(counts(reports)[1]).toEqual({ written: 4, failed: 0 });
  });

  test('down in the middle of a bisection: rows written before it count as written and are not sent again', async () => {
    // [d0 d1 d2 d3 e0] refused, [d0 d1] written, [d2 d3 e0] refused, [d2] written, [d3 e0] -> down
    const db: FakeDb = { refuse: new Set(['d3']), downFrom: 5 };
    const { writer, statements, reports } = setUp(db);
    await storeAll(writer, [...ids(4).map((d) => row(d)), row('e0')]);
    await expect(writer.flush()).rejects.toThrow('database is locked');
    expect(statements).toEqual([[...ids(4), 'e0'], ['d0', 'd1'], ['d2', 'd3', 'e0'], ['d2'], ['d3', 'e0']]);
    expect(counts(reports)).toEqual([{ written: 3, failed: 2 }]);
    expect(writer.queued).toBe(2);
    expect(reports.refused).toEqual([]);
    db.downFrom = Infinity;
    await writer.flush();
    expect(statements.slice(5)).toEqual([['d3', 'e0'], ['d3'], ['e0']]);
    expect(reports.refused).toEqual([[1, 'refused']]);
    expect(counts(reports)[1]).toEqual({ written: 1, failed: 0 });
    expect(writer.queued).toBe(0);
  });

  test('forget() during a statement: the written rows leave the queue by identity, rows stored meanwhile stay', async () => {
    const held = deferred();
    const db: FakeDb = { before: () => held.promise };
    const { writer, statements, reports } = setUp(db);
    await storeAll(writer, [row('a'), row('x1', 'ep-x'), row('b')]);
    const flushing = writer.flush();
    await writer.store(row('x2', 'ep-x'));
    await writer.store(row('c'));
    writer.forget('ep-x'); // the endpoint is deleted while its row x1 is being written
    expect(reports.orphaned).toEqual([2]);
    db.before = undefined;
    held.resolve();
    await flushing;
    expect(statements).toEqual([['a', 'x1', 'b'], ['c']]);
    expect(writer.queued).toBe(0);
  });
});

describe('BatchedDeviceDataWriter: the edges the relay suites reach only by timing', () => {
  test('store() refuses at exactly maxQueued, counts every refusal, and warns at most once per 5 s', async () => {
    const { writer, statements, reports } = setUp({}, { maxQueued: 2 });
    let now = 1_800_000_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    await storeAll(writer, [row('a'), row('b')]);
    await expect(writer.store(row('c'))).rejects.toBeInstanceOf(QueueFullError);
    await expect(writer.store(row('d'))).rejects.toBeInstanceOf(QueueFullError);
    expect(reports.drops).toBe(2);
    expect(logWarn).toHaveBeenCalledTimes(1);
    expect(logWarn).toHaveBeenCalledWith('device data queue full; refusing readings', { queued: 2 });
    now += 5_000; // not yet past the 5 s since the warning
    await expect(writer.store(row('e'))).rejects.toBeInstanceOf(QueueFullError);
    expect(logWarn).toHaveBeenCalledTimes(1);
    now += 1;
    await expect(writer.store(row('f'))).rejects.toBeInstanceOf(QueueFullError);
    expect(logWarn).toHaveBeenCalledTimes(2);
    expect(reports.drops).toBe(4);
    // the rows taken before the queue filled are kept and written, the refused ones never
    await writer.flush();
    expect(statements).toEqual([['a', 'b']]);
  });

  test('the oldest-row gauge is in seconds, and the queue gauge counts what waits', async () => {
    const { writer } = setUp({});
    const gauges = new Map<string, () => number>();
    writer.registerMetrics({ gauge: (name, _help, read) => gauges.set(name, read) });
    expect(gauges.get('relay_device_data_oldest_queued_seconds')?.()).toBe(0);
    await writer.store({ ...row('a'), createdAt: new Date(Date.now() - 2_500) });
    await writer.store({ ...row('b'), createdAt: new Date() });
    const age = gauges.get('relay_device_data_oldest_queued_seconds')?.() ?? NaN;
    expect(age).toBeGreaterThanOrEqual(2.5);
    expect(age).toBeLessThan(10);
    expect(gauges.get('relay_device_data_queued')?.()).toBe(2);
  });

  test('forget() of an endpoint with nothing queued reports no orphans', async () => {
    const { writer, reports } = setUp({});
    await writer.store(row('a'));
    writer.forget('ep-none');
    expect(reports.orphaned).toEqual([]);
    expect(writer.queued).toBe(1);
  });

  test('a batch whose every row is refused before the statement runs no statement', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const { writer, statements, reports } = setUp({});
    await writer.store(row('cycle', 'ep-1', circular as DeviceRow['payload']));
    await writer.flush();
    expect(statements).toEqual([]);
    expect(reports.refused).toEqual([[1, 'refused']]);
    expect(counts(reports)).toEqual([{ written: 0, failed: 0 }]);
    expect(writer.queued).toBe(0);
  });

  test('a failed flush reports its duration in seconds too', async () => {
    // A clock of our own: the statement takes 40 ms of it, whatever the process's uptime.
    let now = 1_000;
    jest.spyOn(performance, 'now').mockImplementation(() => now);
    const db: FakeDb = { downFrom: 1, before: () => void (now += 40) };
    const { writer, reports } = setUp(db);
    await writer.store(row('a'));
    await expect(writer.flush()).rejects.toThrow('database is locked');
    const [{ failed, seconds }] = reports.flushes;
    expect(failed).toBe(1);
    expect(seconds).toBeCloseTo(0.04, 6);
  });

  test('a drain that meets a database that stays down names the device data it leaves', async () => {
    const { writer, reports } = setUp({ downFrom: 1 });
    await writer.store(row('a'));
    expect(await writer.drain(50)).toBe(false);
    expect(writer.queued).toBe(1);
    expect(reports.flushes.length).toBeGreaterThan(0);
    expect(reports.flushes.every(({ failed }) => failed === 1)).toBe(true);
    expect(logError).toHaveBeenCalledWith('device data lost at shutdown: database unavailable', {
      pending: 1,
      error: 'database is locked',
    });
  });

  test('a row of exactly the statement limit is written, and two rows filling it exactly share a statement', async () => {
    const limit = 8 * 2 ** 20; // MySQL's maxStatementBytes
    const wrap = Buffer.byteLength(JSON.stringify({ t: '' })); // {"t":""}
    const { writer, statements, reports } = setUp({}, { provider: 'mysql' });
    await writer.store(row('whole', 'ep-1', { t: 'y'.repeat(limit - wrap) }));
    await writer.flush();
    expect(reports.refused).toEqual([]);
    expect(statements).toEqual([['whole']]);
    const half = limit / 2 - wrap;
    await storeAll(writer, [
      row('h1', 'ep-1', { t: 'y'.repeat(half) }),
      row('h2', 'ep-1', { t: 'z'.repeat(half) }),
    ]);
    await writer.flush();
    expect(statements.slice(1)).toEqual([['h1', 'h2']]);
  });

  test('a refused row that is not a foreign-key failure asks nothing about endpoints', async () => {
    const { writer, lookups, reports } = setUp({ refuse: new Set(['bad']) });
    await storeAll(writer, [row('a'), row('bad')]);
    await writer.flush();
    expect(lookups).toEqual([]);
    expect(reports.refused).toEqual([[1, 'refused']]);
  });

  test("down right after a foreign-key failure: the deleted endpoint's rows are gone, the live ones stay queued and count as failed", async () => {
    const { writer, statements, reports } = setUp({ deleted: new Set(['gone']), downFrom: 2 });
    await storeAll(writer, [row('a'), row('g1', 'gone'), row('b')]);
    await expect(writer.flush()).rejects.toThrow('database is locked');
    expect(statements).toEqual([
      ['a', 'g1', 'b'],
      ['a', 'b'],
    ]);
    expect(reports.orphaned).toEqual([1]);
    expect(counts(reports)).toEqual([{ written: 0, failed: 2 }]);
    expect(writer.queued).toBe(2);
  });

  test('a refusal whose driver error has no message is still reported and logged, and the flush completes', async () => {
    // An error whose message is not a string (a driver's own error object, say): the log line
    // must not throw while the batch is being settled.
    const run = jest.fn(async (): Promise<RunResult> => {
      const err = new DriverError('', CODES.sqlite.refused);
      Object.defineProperty(err, 'message', { value: undefined });
      throw err;
    });
    const { writer, reports } = setUp(
      {},
      { runner: { insertIds: false, run, close: async () => undefined } },
    );
    await writer.store(row('bad'));
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(run).toHaveBeenCalledTimes(1);
    expect(reports.refused).toEqual([[1, 'refused']]);
    expect(writer.queued).toBe(0);
    expect(logError).toHaveBeenCalledWith('device data refused; rows dropped', {
      rows: 1,
      reason: 'refused',
      endpointId: 'ep-1',
      deviceId: 'bad',
      error: undefined,
    });
  });
});

describe('ImmediateDeviceDataWriter.backlog', () => {
  test('nothing waits in memory: no rows, age 0, never stalled', () => {
    expect(new ImmediateDeviceDataWriter({} as Db).backlog()).toEqual({
      rows: 0,
      oldestMs: 0,
      stalled: false,
    });
  });
});

describe('RelayMetrics.flushObserver', () => {
  test('one duration per flush, failed when rows were left queued; written rows count as ok either way', async () => {
    const metrics = new RelayMetrics({ perEndpoint: () => [] });
    const observe = metrics.flushObserver('device_data');
    observe({ written: 7, failed: 0, seconds: 0.004 });
    observe({ written: 3, failed: 2, seconds: 0.2 });
    observe({ written: 0, failed: 5, seconds: 0.1 });
    const samples = parsePrometheus(await metrics.render());
    const value = (name: string, labels: Record<string, string>) => delta([], samples, name, labels);
    expect(value('relay_flush_rows_total', { kind: 'device_data', outcome: 'ok' })).toBe(10);
    expect(value('relay_flush_rows_total', { kind: 'device_data', outcome: 'failed' })).toBe(7);
    expect(value('relay_flush_duration_seconds_count', { kind: 'device_data', outcome: 'ok' })).toBe(1);
    expect(value('relay_flush_duration_seconds_count', { kind: 'device_data', outcome: 'failed' })).toBe(2);
    expect(value('relay_flush_duration_seconds_sum', { kind: 'device_data', outcome: 'failed' })).toBeCloseTo(
      0.3,
    );
    expect(samples.some((s) => s.name === 'relay_flush_rows_total' && s.labels.kind === 'stats')).toBe(false);
  });
});
