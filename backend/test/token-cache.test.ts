import type { Db } from '../src/db/prisma';
import { EndpointService } from '../src/services/endpoint.service';
import { Semaphore, TokenHashCache } from '../src/services/verified-tokens';
import { hashToken } from '../src/util/token';
import { eachTarget } from './helpers/databases';
import { relayBehindOutage } from './helpers/db-outage';
import { within } from './helpers/process';
import { useRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, expectRefused, sleep, type Client } from './helpers/ws';

/*
 * The connect path's token checks: verified token hashes cached (a delete forgets them at
 * once), one lookup per endpoint at a time, and at most TOKEN_CHECK_CONCURRENCY lookups
 * in flight, so a reconnect storm does not become a database storm.
 */

/** Endpoint lookups the relay sent to the database so far (from its Prisma instrumentation). */
async function endpointLookups(t: TestRelay): Promise<number> {
  const text = await t.metricsText();
  const m = /^relay_db_query_duration_seconds_count\{model="Endpoint",operation="findUnique"\} (\d+)$/m.exec(
    text,
  );
  return m ? Number(m[1]) : 0;
}

/**
 * The relay's Prisma client with endpoint.findUnique counted: calls, the most in flight at once,
 * and an optional gate that holds every call until opened.
 */
function countingDb(real: Db) {
  const counts = { calls: 0, active: 0, maxActive: 0 };
  let gate: Promise<void> | undefined;
  let open!: () => void;
  const db = {
    endpoint: {
      findUnique: async (args: Parameters<Db['endpoint']['findUnique']>[0]) => {
        counts.calls++;
        counts.maxActive = Math.max(counts.maxActive, ++counts.active);
        try {
          if (gate) await gate;
          else await sleep(5); // long enough for the storm to pile up behind the bound
          return await real.endpoint.findUnique(args);
        } finally {
          counts.active--;
        }
      },
    },
  } as unknown as Db;
  return {
    db,
    counts,
    hold() {
      gate = new Promise<void>((r) => (open = r));
    },
    release() {
      gate = undefined;
      open();
    },
  };
}

describe('TokenHashCache and Semaphore', () => {
  test('the cache evicts the least recently used entry beyond its size and expires entries after the TTL', async () => {
    const cache = new TokenHashCache(2, 50);
    cache.set('a', 'ha');
    cache.set('b', 'hb');
    expect(cache.get('a')).toBe('ha'); // a is now the most recent
    cache.set('c', 'hc');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('ha');
    expect(cache.get('c')).toBe('hc');
    await sleep(60);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  test('size 0 or TTL 0 caches nothing: nothing is even held', () => {
    for (const cache of [
      new TokenHashCache(0, 60_000),
      new TokenHashCache(10, 0),
      new TokenHashCache(10, -1),
    ]) {
      cache.set('a', 'ha');
      expect(cache.size).toBe(0);
      expect(cache.get('a')).toBeUndefined();
    }
  });

  test('an entry is trusted for less than its TTL: at exactly ttlMs it is looked up again', () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      const cache = new TokenHashCache(10, 50);
      cache.set('a', 'ha');
      now.mockReturnValue(1_000_049);
      expect(cache.get('a')).toBe('ha');
      now.mockReturnValue(1_000_050);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.size).toBe(0); // an expired entry is dropped, not kept
    } finally {
      now.mockRestore();
    }
  });

  test('the semaphore runs at most max tasks at once, in arrival order, and survives failures', async () => {
    const sem = new Semaphore(3);
    let active = 0;
    let most = 0;
    const order: number[] = [];
    const tasks = Array.from({ length: 20 }, (_, i) =>
      sem
        .run(async () => {
          order.push(i);
          most = Math.max(most, ++active);
          await sleep(2);
          active--;
          if (i % 5 === 0) throw new Error(`task ${i}`);
          return i;
        })
        .catch((e: Error) => e.message),
    );
    const results = await Promise.all(tasks);
    expect(most).toBe(3);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(results[5]).toBe('task 5');
    expect(results[6]).toBe(6);
    expect(sem.active).toBe(0);
    expect(sem.queued).toBe(0);
  });
});

/**
 * A database the test answers by hand, one call at a time: endpoint lookups and deletes stay
 * pending until resolved, so the order in which they settle is the test's to choose.
 */
function handDrivenDb() {
  const lookups: { id: string; answer: (row: { tokenHash: string } | null) => void }[] = [];
  const deletes: { id: string; answer: (count: number) => void }[] = [];
  const db = {
    endpoint: {
      findUnique: ({ where }: { where: { id: string } }) =>
        new Promise((answer) => lookups.push({ id: where.id, answer })),
      deleteMany: ({ where }: { where: { id: string } }) =>
        new Promise<number>((answer) => deletes.push({ id: where.id, answer })).then((count) => ({ count })),
    },
  } as unknown as Db;
  return { db, lookups, deletes };
}

describe('EndpointService lookups and deletes on a hand-driven database', () => {
  const ID = '0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
  const TOKEN = 'the-token';
  const row = { tokenHash: hashToken(TOKEN) };
  const turn = () => new Promise((r) => setImmediate(r));
  const cached = { cacheSize: 100, cacheTtlMs: 60_000, maxConcurrentLookups: 4 };

  test('remove answers whether a row went: true for the delete that took it, false for one that found none', async () => {
    const { db, deletes } = handDrivenDb();
    const service = new EndpointService(db, cached);
    const first = service.remove(ID);
    await turn();
    deletes[0].answer(1);
    await expect(first).resolves.toBe(true);
    const second = service.remove(ID);
    await turn();
    deletes[1].answer(0);
    await expect(second).resolves.toBe(false);
  });

  test('a token read while the delete runs is forgotten when the delete ends', async () => {
    // The lookup starts after remove() began and reads the row the delete has not yet removed:
    // it caches the token. Only the invalidation after the delete keeps it from outliving it.
    const { db, lookups, deletes } = handDrivenDb();
    const service = new EndpointService(db, cached);
    const removing = service.remove(ID);
    await turn();
    const racing = service.checkToken(ID, TOKEN);
    await turn();
    lookups[0].answer(row);
    expect(await racing).toBe('ok');
    deletes[0].answer(1);
    await expect(removing).resolves.toBe(true);
    const after = service.checkToken(ID, TOKEN);
    await turn();
    expect(lookups).toHaveLength(2); // asked the database again instead of the cache
    lookups[1].answer(null);
    expect(await after).toBe('unknown-endpoint');
  });

  test("a stale lookup settling does not drop the fresh lookup's in-flight entry: later checks still join it", async () => {
    const { db, lookups } = handDrivenDb();
    const service = new EndpointService(db, cached);
    const stale = service.checkToken(ID, TOKEN);
    await turn();
    service.invalidateToken(ID);
    const fresh = service.checkToken(ID, TOKEN);
    await turn();
    expect(lookups).toHaveLength(2);
    lookups[0].answer(row); // the stale lookup settles while the fresh one still runs
    expect(await stale).toBe('ok');
    const later = service.checkToken(ID, TOKEN);
    await turn();
    expect(lookups).toHaveLength(2); // joined the fresh lookup
    lookups[1].answer(row);
    expect(await Promise.all([fresh, later])).toEqual(['ok', 'ok']);
  });
});

eachTarget('token checks on connect', (target) => {
  const relay = useRelay(target, { TOKEN_CHECK_CONCURRENCY: '3' });
  let clients: Client[] = [];
  afterEach(async () => {
    await closeAll(clients);
    clients = [];
  });

  test('a reconnect storm asks the database once per endpoint, then not at all', async () => {
    const t = relay();
    const eps = await Promise.all(Array.from({ length: 6 }, (_, i) => t.createEndpoint(`storm${i}`)));
    const before = await endpointLookups(t);
    // 10 concurrent connects per endpoint, cache cold.
    const storm = () =>
      Promise.all(eps.flatMap((ep) => Array.from({ length: 10 }, () => connect(t.wsUrl(ep.id, ep.token)))));
    clients.push(...(await storm()));
    const afterFirst = await endpointLookups(t);
    expect(afterFirst - before).toBeLessThanOrEqual(eps.length);
    expect(afterFirst - before).toBeGreaterThanOrEqual(1);
    await closeAll(clients.splice(0));
    // Everyone reconnects: every token is verified from the cache.
    clients.push(...(await storm()));
    expect(await endpointLookups(t)).toBe(afterFirst);
    expect(clients.every((c) => c.isOpen)).toBe(true);
    // A wrong token for a cached endpoint is still refused, still without a lookup.
    expect((await expectRefused(t.wsUrl(eps[0].id, 'not-the-token'))).status).toBe(401);
    expect((await expectRefused(t.wsUrl(eps[0].id))).status).toBe(401);
    expect(await endpointLookups(t)).toBe(afterFirst);
  });

  test("a deleted endpoint's cached token is refused at once; its neighbours stay cached", async () => {
    const t = relay();
    const doomed = await t.createEndpoint('cached-doomed');
    const kept = await t.createEndpoint('cached-kept');
    clients.push(
      await connect(t.wsUrl(doomed.id, doomed.token)),
      await connect(t.wsUrl(kept.id, kept.token)),
    );
    await closeAll(clients.splice(0));
    expect((await t.request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(204);
    // Counted after the DELETE, which reads the endpoint itself.
    const lookups = await endpointLookups(t);
    expect((await expectRefused(t.wsUrl(doomed.id, doomed.token))).status).toBe(404);
    clients.push(await connect(t.wsUrl(kept.id, kept.token)));
    // One lookup for the deleted endpoint (found missing); the neighbour came from the cache.
    expect((await endpointLookups(t)) - lookups).toBe(1);
  });

  test('at most maxConcurrentLookups database lookups at once, against the real database', async () => {
    const t = relay();
    const eps = await Promise.all(Array.from({ length: 12 }, (_, i) => t.createEndpoint(`bound${i}`)));
    const counted = countingDb(t.relay.db.prisma);
    const service = new EndpointService(counted.db, {
      cacheSize: 1000,
      cacheTtlMs: 60_000,
      maxConcurrentLookups: 3,
    });
    // 12 endpoints x 5 concurrent checks, one with a wrong token each, plus unknown ids.
    const unknown = '00000000-0000-4000-8000-000000000000';
    const checks = eps.flatMap((ep) => [
      ...Array.from({ length: 4 }, () => service.checkToken(ep.id, ep.token)),
      service.checkToken(ep.id, 'wrong'),
    ]);
    const unknownChecks = [service.checkToken(unknown, 'x'), service.checkToken('NOT-CANONICAL', 'x')];
    const results = await Promise.all(checks);
    expect(await Promise.all(unknownChecks)).toEqual(['unknown-endpoint', 'unknown-endpoint']);
    expect(results).toEqual(eps.flatMap(() => ['ok', 'ok', 'ok', 'ok', 'bad-token']));
    expect(counted.counts.maxActive).toBe(3);
    // One lookup per endpoint plus the canonical unknown id; the non-canonical one never asks.
    expect(counted.counts.calls).toBe(eps.length + 1);
    expect(service.lookups.active).toBe(0);
  });

  test('a lookup that read the row before a delete does not put the token back in the cache', async () => {
    const t = relay();
    const ep = await t.createEndpoint('inflight-delete');
    const counted = countingDb(t.relay.db.prisma);
    const service = new EndpointService(counted.db, {
      cacheSize: 1000,
      cacheTtlMs: 60_000,
      maxConcurrentLookups: 3,
    });
    counted.hold();
    const racing = service.checkToken(ep.id, ep.token);
    await sleep(20);
    service.invalidateToken(ep.id); // what delete (or the bus, for another process) does
    counted.release();
    expect(await racing).toBe('ok'); // it read before the delete: as without a cache
    expect(await service.checkToken(ep.id, ep.token)).toBe('ok');
    expect(counted.counts.calls).toBe(2); // the second check asked again
    expect(await service.checkToken(ep.id, ep.token)).toBe('ok');
    expect(counted.counts.calls).toBe(2); // and that one was cached
  });
});

eachTarget('token cache across a database outage', ({ db, statsMode }) => {
  const { relay: relayOf, outage: outageOf, clients } = relayBehindOutage(db, { STATS_MODE: statsMode });

  test('a verified endpoint reconnects while the database is down; an unverified one is refused with 503', async () => {
    const relay = relayOf();
    const warm = await relay.createEndpoint('warm');
    const cold = await relay.createEndpoint('cold');
    const first = await connect(relay.wsUrl(warm.id, warm.token), {}, 'first');
    await first.close();
    await outageOf().begin();
    try {
      const again = await within(connect(relay.wsUrl(warm.id, warm.token), {}, 'again'), 15_000, 'warm');
      clients.push(again);
      expect(again.isOpen).toBe(true);
      const refused = await within(expectRefused(relay.wsUrl(cold.id, cold.token)), 15_000, 'cold');
      expect(refused.status).toBe(503);
    } finally {
      await outageOf().end();
    }
  });
});
