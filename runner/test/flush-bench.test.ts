import { setLogLevel } from '../../backend/src/logger';
import { flushBench, flushBenchTable } from '../flush-bench';
import { parseCli } from '../commands';

test('flush-bench flags: databases default to a scratch SQLite, sizes are validated', () => {
  expect(parseCli(['flush-bench'])).toEqual({
    command: 'flush-bench',
    dbs: ['file:'],
    sizes: [50, 200, 500, 1000, 2000],
  });
  expect(parseCli(['flush-bench', '--db', 'mysql://u@h/db', '--endpoints', '10,20'])).toMatchObject({
    dbs: ['mysql://u@h/db'],
    sizes: [10, 20],
  });
  expect(() => parseCli(['flush-bench', '--endpoints', '10,x'])).toThrow(/--endpoints expects/);
  expect(() => parseCli(['flush-bench', '--db', 'postgres://x'])).toThrow(/--db must be/);
});

beforeAll(() => setLogLevel('error'));

test('flush-bench times real flushes of the relay code on a scratch SQLite file', async () => {
  const result = await flushBench('file:', [3, 40], 50);
  expect(result.provider).toBe('sqlite');
  expect(result.rows.map((r) => r.endpoints)).toEqual([3, 40]);
  for (const row of result.rows) {
    // At least 5 timed flushes, at most 200, whatever the machine's speed (how many is the budget's business).
    expect(row.flushes).toBeGreaterThanOrEqual(5);
    expect(row.flushes).toBeLessThanOrEqual(200);
    expect(row.avgMs).toBeGreaterThan(0);
    expect(row.p95Ms).toBeGreaterThan(0);
  }
  const row40 = result.rows[1];
  expect(flushBenchTable([result]).split('\n')).toContain(
    `| sqlite | 40 | ${row40.flushes} | ${row40.avgMs} | ${row40.p95Ms} | ${row40.perEndpointUs} |`,
  );
});
