import { randomUUID } from 'node:crypto';
import { createDb, type DbHandle } from '../src/db/client';
import { prismaRunner, type StatementRunner } from '../src/db/bulk/statement-runner';
import { migrate } from '../src/db/migrator';
import { logger, setLogLevel } from '../src/logger';
import { BatchedStats, type BatchedStatsOptions } from '../src/services/stats/batched-stats';
import { createStatsStore } from '../src/services/stats/create-stats-store';
import { ImmediateStats } from '../src/services/stats/immediate-stats';
import type { FlushOutcome } from '../src/util/flush-scheduler';
import { eachDb, requireDb } from './helpers/databases';
import { eventually, sleep } from './helpers/ws';

/**
 * The stats drivers on their own against the real dialects, for what the relay-level suites
 * only reach through timing: reads that add unwritten deltas, the early flush at
 * maxPendingEndpoints, forget(), a flush that fails while the endpoint it carries is deleted,
 * the order rows are written in, the flush report's duration, and the legacy driver's
 * forgotten endpoints. Each test uses endpoints of its own.
 */
eachDb('stats drivers', (db) => {
  let handle: DbHandle;
  const created: string[] = [];

  /** n new endpoints with their zeroed stats rows, as endpoint creation makes them. */
  async function endpoints(n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, () => randomUUID());
    await handle.prisma.endpoint.createMany({
      data: ids.map((id) => ({ id, name: `stats-${id.slice(0, 8)}`, tokenHash: 'a'.repeat(64) })),
    });
    await handle.prisma.endpointStats.createMany({ data: ids.map((endpointId) => ({ endpointId })) });
    created.push(...ids);
    return ids;
  }

  const row = (endpointId: string) => handle.prisma.endpointStats.findUnique({ where: { endpointId } });

  /** A batched driver whose timer never fires during a test: flushes happen when a test says. */
  function batched(options: Partial<BatchedStatsOptions> = {}): BatchedStats {
    return new BatchedStats(handle.prisma, {
      provider: handle.provider,
      flushIntervalMs: 3_600_000,
      maxPendingEndpoints: 100_000,
      ...options,
    });
  }

  /**
   * The database's statement runner, with its first statement held until `release()`; that
   * statement then fails with `failWith` when given, else runs. Later statements run at once.
   */
  function holdFirstStatement(failWith?: Error) {
    const base = prismaRunner(handle.prisma);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    const runner: StatementRunner = {
      ...base,
      run: async (s) => {
        if (++calls > 1) return base.run(s);
        await held;
        if (failWith) throw failWith;
        return base.run(s);
      },
    };
    return { runner, release, calls: () => calls };
  }

  beforeAll(async () => {
    requireDb(db);
    setLogLevel('error');
    const url = db.url(); // one database: for SQLite every call names a new file
    await migrate(url);
    handle = createDb({ url, poolSize: 2 });
  });
  afterAll(async () => {
    if (handle) await handle.prisma.endpoint.deleteMany({ where: { id: { in: created } } });
    await handle?.close();
  });

  test.each([
    ['Prisma', false],
    ["the relay's own statement runner (the writer thread)", true],
  ])(
    'get() adds the unwritten deltas to the stored row; without any it is the row (flushes through %s)',
    async (_name, own) => {
      const [a, b] = await endpoints(2);
      const stats = batched(own ? { statements: handle.statements } : {});
      try {
        stats.recordConnect(a);
        stats.recordConnect(a);
        stats.recordDisconnect(a);
        for (let i = 0; i < 3; i++) stats.recordMessage(a);
        await stats.flush();
        const stored = await row(a);
        expect(stored).toMatchObject({ currentConnections: 1, totalConnections: 2, totalMessages: 3 });

        await sleep(5); // millisecond timestamps: make the pending message observably later
        const before = Date.now();
        stats.recordConnect(a);
        stats.recordMessage(a);
        stats.recordMessage(a);
        const view = await stats.get(a);
        expect(view).toMatchObject({ currentConnections: 2, totalConnections: 3, totalMessages: 5 });
        expect(view!.lastMessageAt!.getTime()).toBeGreaterThanOrEqual(before);
        // Still unwritten: the row did not move.
        expect(await row(a)).toMatchObject({ currentConnections: 1, totalConnections: 2, totalMessages: 3 });

        expect(await stats.get(b)).toEqual({
          currentConnections: 0,
          totalConnections: 0,
          totalMessages: 0,
          lastMessageAt: null,
        });
        expect(await stats.get(randomUUID())).toBeNull();
      } finally {
        await stats.drain();
      }
    },
  );

  test('flushes early when maxPendingEndpoints endpoints are dirty, again at the next crossing, never once drained', async () => {
    const ids = await endpoints(9);
    const reports: FlushOutcome[] = [];
    const stats = batched({ maxPendingEndpoints: 3, onFlush: (r) => reports.push(r) });
    const tick = () => new Promise((r) => setImmediate(r));
    try {
      stats.recordConnect(ids[0]);
      stats.recordConnect(ids[1]);
      stats.recordMessage(ids[1]); // the same endpoint again: still two dirty
      await tick();
      await sleep(20);
      expect(reports).toHaveLength(0);
      expect(stats.pendingEndpoints).toBe(2);

      stats.recordConnect(ids[2]);
      await eventually(
        async () => reports.length,
        (n) => n === 1,
        { what: 'the early flush' },
      );
      expect(reports[0]).toMatchObject({ written: 3, failed: 0 });
      expect(stats.pendingEndpoints).toBe(0);
      expect(await row(ids[2])).toMatchObject({ currentConnections: 1, totalConnections: 1 });

      for (const id of ids.slice(3, 6)) stats.recordConnect(id);
      await eventually(
        async () => reports.length,
        (n) => n === 2,
        { what: 'the second early flush' },
      );
      expect(reports[1]).toMatchObject({ written: 3, failed: 0 });
    } finally {
      expect(await stats.drain()).toBe(true);
    }
    for (const id of ids.slice(6)) stats.recordConnect(id);
    await tick();
    await sleep(50);
    expect(reports).toHaveLength(2);
    expect(stats.pendingEndpoints).toBe(3);
  });

  test('one early flush per crossing: endpoints dirtied while it is queued or running wait for the next', async () => {
    const ids = await endpoints(5);
    const { runner: holdingFirst, release, calls } = holdFirstStatement();
    const reports: FlushOutcome[] = [];
    const stats = batched({
      maxPendingEndpoints: 3,
      statements: holdingFirst,
      onFlush: (r) => reports.push(r),
    });
    try {
      // The third crosses the threshold and queues a flush; the fourth, in the same turn, must not queue another.
      for (const id of ids.slice(0, 4)) stats.recordConnect(id);
      await eventually(
        async () => calls(),
        (n) => n === 1,
        { what: 'the early flush to reach the database' },
      );
      stats.recordConnect(ids[4]); // one dirty endpoint, below the threshold
      release();
      await eventually(
        async () => reports.length,
        (n) => n >= 1,
        { what: 'the early flush to end' },
      );
      await sleep(50); // room for a second flush, had one been queued
      expect(reports).toEqual([expect.objectContaining({ written: 4, failed: 0 })]);
      expect(stats.pendingEndpoints).toBe(1);
    } finally {
      release();
      await stats.drain();
    }
  });

  test('a flush with nothing pending runs no statement and reports nothing', async () => {
    let statements = 0;
    const reports: FlushOutcome[] = [];
    const base = prismaRunner(handle.prisma);
    const counting: StatementRunner = { ...base, run: (s) => (statements++, base.run(s)) };
    const stats = batched({ statements: counting, onFlush: (r) => reports.push(r) });
    await stats.flush();
    expect(statements).toBe(0);
    expect(reports).toEqual([]);
    await stats.drain();
  });

  test('writes rows in ascending endpoint id order (one lock order for every writer) and reports its duration in seconds', async () => {
    const ids = await endpoints(6);
    const seen: unknown[][] = [];
    const reports: FlushOutcome[] = [];
    const base = prismaRunner(handle.prisma);
    const recording: StatementRunner = {
      ...base,
      run: async (s) => {
        seen.push(s.params);
        await sleep(50); // a flush that takes a known minimum, so its reported duration can be checked
        return base.run(s);
      },
    };
    const stats = batched({ statements: recording, onFlush: (r) => reports.push(r) });
    // Neither ascending nor descending: a comparator that always answers "before" reverses
    // its input, which would pass for descending ids.
    const sorted = [...ids].sort();
    for (const i of [2, 0, 4, 1, 5, 3]) stats.recordConnect(sorted[i]);
    await stats.flush();
    const idSet = new Set(ids);
    const order = seen.flat().filter((p): p is string => typeof p === 'string' && idSet.has(p));
    expect(order).toEqual([...ids].sort());
    expect(reports).toHaveLength(1);
    expect(reports[0].seconds).toBeGreaterThanOrEqual(0.04);
    expect(reports[0].seconds).toBeLessThan(10);
    await stats.drain();
  });

  test('forget() drops what an endpoint had pending and ignores what comes after', async () => {
    const [kept, gone] = await endpoints(2);
    const stats = batched();
    stats.recordConnect(kept);
    stats.recordConnect(gone);
    stats.recordMessage(gone);
    stats.forget(gone);
    expect(stats.pendingEndpoints).toBe(1);
    stats.recordConnect(gone);
    stats.recordMessage(gone);
    stats.recordDisconnect(gone);
    expect(stats.pendingEndpoints).toBe(1);
    await stats.flush();
    expect(await row(kept)).toMatchObject({ currentConnections: 1, totalConnections: 1 });
    expect(await row(gone)).toMatchObject({ currentConnections: 0, totalConnections: 0, totalMessages: 0 });
    await stats.drain();
  });

  test('a failed flush puts its deltas back, merged with what came meanwhile, except an endpoint forgotten during it', async () => {
    const [a, b] = await endpoints(2);
    const { runner: failingOnce, release, calls } = holdFirstStatement(new Error('database went away'));
    const reports: FlushOutcome[] = [];
    const stats = batched({ statements: failingOnce, onFlush: (r) => reports.push(r) });
    try {
      stats.recordConnect(a);
      stats.recordMessage(a);
      stats.recordConnect(b);
      expect(stats.unwrittenEndpoints).toBe(2);
      const flushing = stats.flush();
      await eventually(
        async () => calls(),
        (n) => n === 1,
        { what: 'the flush to reach the database' },
      );
      // In flight: nothing pending, both still unwritten.
      expect(stats.pendingEndpoints).toBe(0);
      expect(stats.unwrittenEndpoints).toBe(2);
      await sleep(5);
      const messageAt = Date.now();
      stats.recordMessage(a); // pending again while its earlier delta is being written: counted once
      expect(stats.unwrittenEndpoints).toBe(2);
      stats.forget(b);
      await sleep(50);
      release();
      await expect(flushing).rejects.toThrow('database went away');
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ written: 0, failed: 2 });
      expect(reports[0].seconds).toBeGreaterThanOrEqual(0.04);
      expect(reports[0].seconds).toBeLessThan(10);
      // a's connect and first message merged back into its pending second message; b's delta dropped.
      expect(stats.pendingEndpoints).toBe(1);
      expect(stats.unwrittenEndpoints).toBe(1);
      await stats.flush();
      const stored = await row(a);
      expect(stored).toMatchObject({ currentConnections: 1, totalConnections: 1, totalMessages: 2 });
      // The later of the two messages' times, not the earlier one the failed flush carried.
      expect(stored!.lastMessageAt!.getTime()).toBeGreaterThanOrEqual(messageAt);
      expect(await row(b)).toMatchObject({ currentConnections: 0, totalConnections: 0 });
      expect(stats.unwrittenEndpoints).toBe(0);
    } finally {
      release(); // an assertion that failed before the release must not leave the flush held
      await stats.drain();
    }
  });

  test('registers its pending-endpoints gauge', async () => {
    const [a, b] = await endpoints(2);
    const gauges = new Map<string, () => number>();
    const stats = batched();
    stats.registerMetrics({ gauge: (name, _help, read) => gauges.set(name, read) });
    const read = gauges.get('relay_stats_pending_endpoints');
    expect(read).toBeDefined();
    expect(read!()).toBe(0);
    stats.recordConnect(a);
    stats.recordMessage(b);
    expect(read!()).toBe(2);
    await stats.flush();
    expect(read!()).toBe(0);
    await stats.drain();
  });

  test('the legacy driver writes each event at once, never for a forgotten endpoint, and logs a failed write unless forgotten', async () => {
    const [a, gone] = await endpoints(2);
    const stats = new ImmediateStats(handle.prisma);
    await stats.recordConnect(a);
    await stats.recordMessage(a);
    expect(await row(a)).toMatchObject({ currentConnections: 1, totalConnections: 1, totalMessages: 1 });

    stats.forget(gone);
    await stats.recordConnect(gone);
    await stats.recordMessage(gone);
    expect(await row(gone)).toMatchObject({ currentConnections: 0, totalConnections: 0, totalMessages: 0 });

    const errors = jest.spyOn(logger, 'error').mockImplementation(() => logger);
    try {
      const missing = randomUUID();
      await expect(stats.recordConnect(missing)).resolves.toBeUndefined();
      expect(errors).toHaveBeenCalledWith(
        'stats write failed',
        expect.objectContaining({ endpointId: missing }),
      );
      errors.mockClear();
      // Forgotten while its write was in flight (the endpoint was being deleted): no error logged.
      const deleted = randomUUID();
      const write = stats.recordMessage(deleted);
      stats.forget(deleted);
      await write;
      expect(errors).not.toHaveBeenCalled();
    } finally {
      errors.mockRestore();
    }
    expect(await stats.drain()).toBe(true);
  });

  test('createStatsStore gives the driver STATS_MODE names', () => {
    const options = { provider: handle.provider, flushIntervalMs: 3_600_000, maxPendingEndpoints: 10 };
    const immediate = createStatsStore('immediate', handle.prisma, options);
    expect(immediate).toBeInstanceOf(ImmediateStats);
    expect(immediate.mode).toBe('immediate');
    const batchedStore = createStatsStore('batched', handle.prisma, options);
    expect(batchedStore).toBeInstanceOf(BatchedStats);
    expect(batchedStore.mode).toBe('batched');
    return batchedStore.drain();
  });
});
