/**
 * AlertService's rule cache (batched mode): one rule read in flight per endpoint, however many
 * readings miss the cache while it runs; invalidation during a read neither caches its stale
 * result nor hands it to readings that arrive after the change. The database is a recording fake
 * here because the property is about how many reads are issued and when, which a real database
 * cannot hold still; device-data.test.ts checks the same cache end to end on both databases.
 */
import type { Db } from '../src/db/prisma';
import { AlertService } from '../src/services/alert.service';

interface FakeRule {
  id: number;
  endpointId: string;
  deviceId: string | null;
  field: string;
  operator: string;
  threshold: number;
  enabled: boolean;
}

/** A rule read the test resolves or rejects by hand. */
interface PendingRead {
  endpointId: string;
  resolve: (rules: FakeRule[]) => void;
  reject: (err: Error) => void;
}

function fakeDb() {
  const reads: PendingRead[] = [];
  let nextAlertId = 1;
  const db = {
    alertRule: {
      findMany: ({ where }: { where: { endpointId: string } }) =>
        new Promise<FakeRule[]>((resolve, reject) =>
          reads.push({ endpointId: where.endpointId, resolve, reject }),
        ),
    },
    alert: {
      create: async ({ data }: { data: { ruleId: number } }) => ({
        id: nextAlertId++,
        ...data,
        createdAt: new Date(0),
      }),
    },
  };
  return { db: db as unknown as Db, reads };
}

const rule = (id: number, threshold: number, endpointId = 'ep'): FakeRule => ({
  id,
  endpointId,
  deviceId: null,
  field: 't',
  operator: '>',
  threshold,
  enabled: true,
});

/** Lets pending promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r));

/**
 * A reading whose rule read is in flight (`before`, reads[0]), an invalidation (a rule created or
 * deleted meanwhile), then a reading after it (`after`, reads[1]); both reads still pending.
 */
async function readsAcrossInvalidation() {
  const { db, reads } = fakeDb();
  const alerts = new AlertService(db, 5000);
  const before = alerts.evaluate('ep', 'd', { t: 50 });
  await settle();
  alerts.invalidate('ep');
  const after = alerts.evaluate('ep', 'd', { t: 50 });
  await settle();
  return { alerts, reads, before, after };
}

describe('AlertService rule cache (cacheMs > 0)', () => {
  let now: number;
  beforeEach(() => {
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  it('issues one read for every reading that misses the cache while the read runs', async () => {
    const { db, reads } = fakeDb();
    const alerts = new AlertService(db, 5000);
    const evaluations = Array.from({ length: 100 }, (_, i) => alerts.evaluate('ep', `d${i}`, { t: 50 }));
    await settle();
    expect(reads).toHaveLength(1);
    reads[0].resolve([rule(1, 10)]);
    const fired = await Promise.all(evaluations);
    expect(fired.map((f) => f.map((a) => a.ruleId))).toEqual(Array.from({ length: 100 }, () => [1]));
    // Cached now: no further read within cacheMs.
    await alerts.evaluate('ep', 'd', { t: 50 });
    expect(reads).toHaveLength(1);
  });

  it('keeps endpoints apart: one read each, each with its own rules', async () => {
    const { db, reads } = fakeDb();
    const alerts = new AlertService(db, 5000);
    const a = [alerts.evaluate('a', 'd', { t: 15 }), alerts.evaluate('a', 'd', { t: 15 })];
    const b = [alerts.evaluate('b', 'd', { t: 15 }), alerts.evaluate('b', 'd', { t: 15 })];
    await settle();
    expect(reads.map((r) => r.endpointId)).toEqual(['a', 'b']);
    reads[0].resolve([rule(1, 10, 'a')]);
    reads[1].resolve([rule(2, 20, 'b')]);
    expect((await Promise.all(a)).map((f) => f.length)).toEqual([1, 1]);
    expect((await Promise.all(b)).map((f) => f.length)).toEqual([0, 0]);
  });

  it('reads again exactly once after the entry expires', async () => {
    const { db, reads } = fakeDb();
    const alerts = new AlertService(db, 5000);
    const first = alerts.evaluate('ep', 'd', { t: 50 });
    await settle();
    reads[0].resolve([rule(1, 10)]);
    await first;
    now += 4999;
    await alerts.evaluate('ep', 'd', { t: 50 });
    expect(reads).toHaveLength(1);
    now += 1;
    const again = [alerts.evaluate('ep', 'd', { t: 50 }), alerts.evaluate('ep', 'd', { t: 50 })];
    await settle();
    expect(reads).toHaveLength(2);
    reads[1].resolve([rule(1, 100)]); // threshold raised meanwhile: the new rules apply
    expect((await Promise.all(again)).map((f) => f.length)).toEqual([0, 0]);
  });

  it('does not hand a read that started before an invalidation to readings after it, nor cache it', async () => {
    const { alerts, reads, before, after } = await readsAcrossInvalidation();
    expect(reads).toHaveLength(2);
    reads[0].resolve([rule(1, 10)]); // the old rules: still fire for the reading that asked first
    reads[1].resolve([]); // the rule is gone
    expect((await before).length).toBe(1);
    expect((await after).length).toBe(0);
    // The stale read was not cached, the fresh one was: no rule, no read.
    expect((await alerts.evaluate('ep', 'd', { t: 50 })).length).toBe(0);
    expect(reads).toHaveLength(2);
  });

  it('a stale read that settles after the fresh one does not overwrite the fresh rules', async () => {
    const { alerts, reads, before, after } = await readsAcrossInvalidation();
    reads[1].resolve([rule(1, 10), rule(2, 20)]); // the fresh read: both rules
    expect((await after).map((a) => a.ruleId)).toEqual([1, 2]);
    reads[0].resolve([rule(1, 10)]); // the stale read settles last
    expect((await before).map((a) => a.ruleId)).toEqual([1]);
    // The cache still holds the fresh rules: both fire, and nothing is read.
    expect((await alerts.evaluate('ep', 'd', { t: 50 })).map((a) => a.ruleId)).toEqual([1, 2]);
    expect(reads).toHaveLength(2);
  });

  it('a stale read settling does not end the fresh read in flight: later readings still join it', async () => {
    const { alerts, reads, before, after } = await readsAcrossInvalidation();
    reads[0].resolve([]); // the stale read settles while the fresh one still runs
    await before;
    const later = alerts.evaluate('ep', 'd', { t: 50 });
    await settle();
    expect(reads).toHaveLength(2);
    reads[1].resolve([rule(1, 10)]);
    expect((await Promise.all([after, later])).map((f) => f.length)).toEqual([1, 1]);
  });

  it('a read that began before invalidate and invalidateAll is not cached after both', async () => {
    // Each invalidation must move the generation forward: one that moved it back would let this
    // pair cancel out and the stale read be cached.
    const { db, reads } = fakeDb();
    const alerts = new AlertService(db, 5000);
    const before = alerts.evaluate('ep', 'd', { t: 50 });
    await settle();
    alerts.invalidate('ep');
    alerts.invalidateAll();
    reads[0].resolve([rule(1, 10)]);
    expect((await before).length).toBe(1);
    const next = alerts.evaluate('ep', 'd', { t: 50 });
    await settle();
    expect(reads).toHaveLength(2);
    reads[1].resolve([]);
    expect((await next).length).toBe(0);
  });

  it('invalidateAll starts a new read for every endpoint with one in flight', async () => {
    const { db, reads } = fakeDb();
    const alerts = new AlertService(db, 5000);
    void alerts.evaluate('a', 'd', { t: 1 });
    void alerts.evaluate('b', 'd', { t: 1 });
    await settle();
    alerts.invalidateAll();
    void alerts.evaluate('a', 'd', { t: 1 });
    void alerts.evaluate('b', 'd', { t: 1 });
    await settle();
    expect(reads.map((r) => r.endpointId)).toEqual(['a', 'b', 'a', 'b']);
    for (const r of reads) r.resolve([]);
  });

  it('a failed read fails the readings waiting on it, and the next reading reads again', async () => {
    const { db, reads } = fakeDb();
    const alerts = new AlertService(db, 5000);
    const waiting = [alerts.evaluate('ep', 'd', { t: 50 }), alerts.evaluate('ep', 'd', { t: 50 })];
    await settle();
    reads[0].reject(new Error('pool timeout'));
    for (const w of waiting) await expect(w).rejects.toThrow('pool timeout');
    const next = alerts.evaluate('ep', 'd', { t: 50 });
    await settle();
    expect(reads).toHaveLength(2);
    reads[1].resolve([rule(1, 10)]);
    expect((await next).length).toBe(1);
  });
});

describe('AlertService without a cache (cacheMs 0, the legacy immediate mode)', () => {
  it('reads the rules for every reading', async () => {
    const { db, reads } = fakeDb();
    const alerts = new AlertService(db, 0);
    const evaluations = [1, 2, 3].map(() => alerts.evaluate('ep', 'd', { t: 50 }));
    await settle();
    expect(reads).toHaveLength(3);
    for (const r of reads) r.resolve([rule(1, 10)]);
    expect((await Promise.all(evaluations)).map((f) => f.length)).toEqual([1, 1, 1]);
  });
});
