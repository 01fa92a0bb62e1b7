import { randomUUID } from 'node:crypto';
import { createDb, type DbHandle } from '../src/db/client';
import type { Db } from '../src/db/prisma';
import { migrate } from '../src/db/migrator';
import { setLogLevel } from '../src/logger';
import { BatchedStats } from '../src/services/stats/batched-stats';
import { statsFlushStatement, type StatsDelta } from '../src/services/stats/flush-statement';
import { eachDb, requireDb } from './helpers/databases';

/**
 * The batched stats flush statement: its exact SQL text and parameter order in both dialects,
 * how BatchedStats cuts a flush into statements of `maxRowsPerStatement` rows, and what the
 * statement does to real rows.
 */

const delta = (current: number, connects: number, messages: number, lastMessageAt = 0): StatsDelta => ({
  current,
  connects,
  messages,
  lastMessageAt,
});
const NOW = new Date('2026-01-02T03:04:05.678Z');
const TWO_ROWS: [string, StatsDelta][] = [
  ['a', delta(1, 2, 3, 1000)],
  ['b', delta(-1, 0, 0)],
];

describe('statsFlushStatement SQL', () => {
  test('SQLite: UPDATE ... FROM (VALUES ...), the SET parameter first, a reading-less row gets NULL', () => {
    const { sql, params } = statsFlushStatement('sqlite', TWO_ROWS, NOW);
    expect(sql).toBe(
      'UPDATE `EndpointStats` SET ' +
        '`currentConnections` = `currentConnections` + d.column2, ' +
        '`totalConnections` = `totalConnections` + d.column3, ' +
        '`totalMessages` = `totalMessages` + d.column4, ' +
        '`lastMessageAt` = COALESCE(d.column5, `lastMessageAt`), `updatedAt` = ? ' +
        'FROM (VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)) AS d WHERE `EndpointStats`.`endpointId` = d.column1',
    );
    expect(params).toEqual([NOW, 'a', 1, 2, 3, new Date(1000), 'b', -1, 0, 0, null]);
  });

  test('MySQL/MariaDB: UPDATE ... JOIN (SELECT ... UNION ALL SELECT ...), the SET parameter last', () => {
    const { sql, params } = statsFlushStatement('mysql', TWO_ROWS, NOW);
    expect(sql).toBe(
      'UPDATE `EndpointStats` AS s JOIN (' +
        'SELECT ? AS `endpointId`, ? AS `dc`, ? AS `dt`, ? AS `dm`, ? AS `lm` UNION ALL SELECT ?, ?, ?, ?, ?' +
        ') AS d ON s.`endpointId` = d.`endpointId` SET ' +
        's.`currentConnections` = s.`currentConnections` + d.`dc`, ' +
        's.`totalConnections` = s.`totalConnections` + d.`dt`, ' +
        's.`totalMessages` = s.`totalMessages` + d.`dm`, ' +
        's.`lastMessageAt` = COALESCE(d.`lm`, s.`lastMessageAt`), s.`updatedAt` = ?',
    );
    expect(params).toEqual(['a', 1, 2, 3, new Date(1000), 'b', -1, 0, 0, null, NOW]);
  });

  test('one row: MySQL names the columns in its only SELECT and has no UNION ALL', () => {
    const { sql } = statsFlushStatement('mysql', [['x', delta(0, 0, 1, 5)]], NOW);
    expect(sql).toContain('JOIN (SELECT ? AS `endpointId`, ? AS `dc`, ? AS `dt`, ? AS `dm`, ? AS `lm`) AS d');
    expect(sql).not.toContain('UNION ALL');
    expect(statsFlushStatement('sqlite', [['x', delta(0, 0, 1, 5)]], NOW).sql).toContain(
      'FROM (VALUES (?, ?, ?, ?, ?)) AS d',
    );
  });

  test.each(['sqlite', 'mysql'] as const)(
    '%s: placeholders match parameters for 1, 3 and 500 rows',
    (provider) => {
      for (const n of [1, 3, 500]) {
        const rows = Array.from({ length: n }, (_, i) => [`id${i}`, delta(i, i, i, i)] as const);
        const { sql, params } = statsFlushStatement(provider, rows, NOW);
        expect(sql.split('?').length - 1).toBe(params.length);
        expect(params).toHaveLength(5 * n + 1);
      }
    },
  );
});

/** A Prisma stand-in that records each raw statement; `failOn` makes that call (1-based) reject. */
function recordingDb(failOn?: number) {
  const calls: { sql: string; params: unknown[] }[] = [];
  const db = {
    $executeRawUnsafe: async (sql: string, ...params: unknown[]) => {
      calls.push({ sql, params });
      if (calls.length === failOn) throw new Error('database refused');
      return 1;
    },
  } as unknown as Db;
  return { db, calls };
}

describe('BatchedStats cuts a flush at maxRowsPerStatement', () => {
  const options = { provider: 'sqlite' as const, flushIntervalMs: 3_600_000, maxPendingEndpoints: 1000 };

  test('5 dirty endpoints, 2 per statement: 3 statements of 2, 2 and 1 rows, in id order', async () => {
    const { db, calls } = recordingDb();
    const stats = new BatchedStats(db, { ...options, maxRowsPerStatement: 2 });
    for (const id of ['e', 'c', 'a', 'd', 'b']) stats.recordMessage(id);
    await stats.flush();
    expect(calls.map((c) => c.params.filter((p) => typeof p === 'string'))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e'],
    ]);
    for (const c of calls) expect(c.sql.split('?').length - 1).toBe(c.params.length);
    expect(stats.pendingEndpoints).toBe(0);
    await stats.drain();
  });

  test('exactly maxRowsPerStatement rows: one statement', async () => {
    const { db, calls } = recordingDb();
    const stats = new BatchedStats(db, { ...options, maxRowsPerStatement: 3 });
    for (const id of ['a', 'b', 'c']) stats.recordConnect(id);
    await stats.flush();
    expect(calls).toHaveLength(1);
    await stats.drain();
  });

  test('a failed second statement keeps only the rows not yet written, and the next flush writes them', async () => {
    const { db, calls } = recordingDb(2);
    const flushes: { written: number; failed: number }[] = [];
    const stats = new BatchedStats(db, {
      ...options,
      maxRowsPerStatement: 2,
      onFlush: ({ written, failed }) => flushes.push({ written, failed }),
    });
    for (const id of ['a', 'b', 'c', 'd', 'e']) stats.recordMessage(id);
    await expect(stats.flush()).rejects.toThrow('database refused');
    expect(stats.pendingEndpoints).toBe(3);
    // the first statement's two rows were written: they count as written, not as failed
    expect(flushes).toEqual([{ written: 2, failed: 3 }]);
    await stats.flush();
    expect(calls.slice(2).map((c) => c.params.filter((p) => typeof p === 'string'))).toEqual([
      ['c', 'd'],
      ['e'],
    ]);
    expect(flushes[1]).toEqual({ written: 3, failed: 0 });
    await stats.drain();
  });
});

eachDb('the flush statement on a real database', (db) => {
  let handle: DbHandle;
  const ids = [randomUUID(), randomUUID(), randomUUID()];

  beforeAll(async () => {
    requireDb(db);
    setLogLevel('error');
    const url = db.url();
    await migrate(url);
    handle = createDb({ url, poolSize: 2 });
    await handle.prisma.endpoint.createMany({
      data: ids.map((id, i) => ({ id, name: `stmt-${i}`, tokenHash: 'a'.repeat(64) })),
    });
    await handle.prisma.endpointStats.createMany({
      data: ids.map((endpointId) => ({ endpointId, totalMessages: 10, currentConnections: 2 })),
    });
  });
  afterAll(async () => {
    if (handle) await handle.prisma.endpoint.deleteMany({ where: { id: { in: ids } } });
    await handle?.prisma.$disconnect();
  });

  test('adds each delta to its own row, leaves other rows and a missing endpoint alone', async () => {
    const [first, second, untouched] = ids;
    const readingAt = Date.parse('2026-01-02T03:00:00.000Z');
    const { sql, params } = statsFlushStatement(
      handle.provider,
      [
        [first, delta(1, 3, 5, readingAt)],
        [second, delta(-2, 0, 0)],
        [randomUUID(), delta(9, 9, 9, readingAt)],
      ],
      NOW,
    );
    const changed = await handle.prisma.$executeRawUnsafe(sql, ...params);
    expect(changed).toBe(2);
    const rows = await handle.prisma.endpointStats.findMany({ where: { endpointId: { in: ids } } });
    const byId = new Map(rows.map((r) => [r.endpointId, r]));
    expect(byId.get(first)).toMatchObject({
      currentConnections: 3,
      totalConnections: 3,
      totalMessages: 15,
      lastMessageAt: new Date(readingAt),
      updatedAt: NOW,
    });
    expect(byId.get(second)).toMatchObject({
      currentConnections: 0,
      totalConnections: 0,
      totalMessages: 10,
      lastMessageAt: null,
      updatedAt: NOW,
    });
    expect(byId.get(untouched)).toMatchObject({ currentConnections: 2, totalMessages: 10 });
    expect(byId.get(untouched)!.updatedAt).not.toEqual(NOW);
  });
});
