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
    expect(row.flushes).toBeGreaterThanOrEqual(5);
    expect(row.avgMs).toBeGreaterThan(0);
    expect(row.p95Ms).toBeGreaterThanOrEqual(row.avgMs * 0.5);
  }
  expect(flushBenchTable([result])).toContain('| sqlite | 40 |');
});
