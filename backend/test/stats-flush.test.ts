import { randomUUID } from 'node:crypto';
import { createDb, type DbHandle } from '../src/db/client';
import { migrate } from '../src/db/migrator';
import { setLogLevel } from '../src/logger';
import { BatchedStats } from '../src/services/stats/batched-stats';
import { eachDb, requireDb } from './helpers/databases';

/**
 * The batched flush statement against the real dialects: more dirty endpoints than one
 * statement takes (so it is chunked), endpoints with and without messages, and an endpoint
 * deleted while its delta was pending.
 */
eachDb('batched stats flush statement', (db) => {
  let handle: DbHandle;
  const ids: string[] = [];
  const ENDPOINTS = 620;

  beforeAll(async () => {
    requireDb(db);
    setLogLevel('error');
    const url = db.url();
    await migrate(url);
    handle = createDb({ url, poolSize: 2 });
    for (let i = 0; i < ENDPOINTS; i++) ids.push(randomUUID());
    // Rows as endpoint creation makes them: the endpoint and its zeroed stats row.
    await handle.prisma.endpoint.createMany({
      data: ids.map((id, i) => ({ id, name: `flush-${i}`, tokenHash: 'a'.repeat(64) })),
    });
    await handle.prisma.endpointStats.createMany({ data: ids.map((endpointId) => ({ endpointId })) });
  });
  afterAll(async () => {
    if (handle) await handle.prisma.endpoint.deleteMany({ where: { id: { in: ids } } });
    await handle?.prisma.$disconnect();
  });

  test('writes every delta once, in chunks, keeps lastMessageAt where no message came, skips a deleted endpoint', async () => {
    const stats = new BatchedStats(handle.prisma, {
      provider: handle.provider,
      flushIntervalMs: 3_600_000,
      maxPendingEndpoints: 100_000,
      maxRowsPerStatement: 500,
    });
    const before = Date.now();
    // Endpoint i: i % 3 connects (one of them still open), i % 5 messages.
    ids.forEach((id, i) => {
      for (let c = 0; c < i % 3; c++) stats.recordConnect(id);
      if (i % 3 === 2) stats.recordDisconnect(id);
      for (let m = 0; m < i % 5; m++) stats.recordMessage(id);
    });
    // Deleted while its delta is pending: the flush must neither fail nor resurrect it.
    const gone = ids[7];
    await handle.prisma.endpoint.delete({ where: { id: gone } });
    await stats.flush();
    const rows = await handle.prisma.endpointStats.findMany({ where: { endpointId: { in: ids } } });
    expect(rows).toHaveLength(ENDPOINTS - 1);
    const byId = new Map(rows.map((r) => [r.endpointId, r]));
    ids.forEach((id, i) => {
      if (id === gone) return;
      const row = byId.get(id)!;
      expect({
        current: row.currentConnections,
        total: row.totalConnections,
        messages: row.totalMessages,
      }).toEqual({ current: i % 3 === 0 ? 0 : 1, total: i % 3, messages: i % 5 });
      if (i % 5 === 0) expect(row.lastMessageAt).toBeNull();
      else expect(row.lastMessageAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    });

    // A second flush adds to the stored values and leaves an earlier lastMessageAt in place.
    const kept = byId.get(ids[1])!.lastMessageAt!.getTime();
    await new Promise((r) => setTimeout(r, 5)); // millisecond timestamps: make "later" observable
    stats.recordConnect(ids[0]);
    stats.recordMessage(ids[1]);
    stats.recordConnect(ids[6]);
    await stats.flush();
    const [r0, r1, r6] = await Promise.all(
      [0, 1, 6].map((i) => handle.prisma.endpointStats.findUnique({ where: { endpointId: ids[i] } })),
    );
    expect(r0!.totalConnections).toBe(1);
    expect(r0!.lastMessageAt).toBeNull();
    expect(r1!.totalMessages).toBe(2);
    expect(r1!.lastMessageAt!.getTime()).toBeGreaterThan(kept);
    // endpoint 6: no connects and one message in the first flush, one connect in the second
    expect(r6!.totalConnections).toBe(1);
    expect(r6!.lastMessageAt!.getTime()).toBe(byId.get(ids[6])!.lastMessageAt!.getTime());
    await stats.drain(1000);
  });
});
