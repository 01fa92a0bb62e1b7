import type { Db } from '../src/db/prisma';
import { BatchedDeviceDataWriter } from '../src/services/device-data/batched-device-data-writer';

/*
 * BatchedDeviceDataWriter.backlog(now), what /health reads: queued rows, the age of the oldest
 * in ms, and `stalled` once that age is past backlogMaxMs (strictly). No database: the flush
 * interval is an hour and nothing reaches a statement.
 */

function writer(backlogMaxMs?: number) {
  return new BatchedDeviceDataWriter({} as Db, {
    provider: 'sqlite',
    flushIntervalMs: 3_600_000,
    batchSize: 1_000,
    maxQueued: 10,
    backlogMaxMs,
    statements: { run: async () => 0 } as never,
  });
}

const row = (atMs: number) => ({
  endpointId: 'ep',
  deviceId: 'd1',
  payload: { t: 1 },
  createdAt: new Date(atMs),
});

describe('BatchedDeviceDataWriter.backlog', () => {
  test('empty: no rows, age 0, not stalled', () => {
    expect(writer(500).backlog(10_000)).toEqual({ rows: 0, oldestMs: 0, stalled: false });
  });

  test('age of the oldest queued row; stalled only once the age is past the limit', async () => {
    const w = writer(500);
    await w.store(row(1_000));
    await w.store(row(1_200));
    expect(w.backlog(1_300)).toEqual({ rows: 2, oldestMs: 300, stalled: false });
    expect(w.backlog(1_500)).toEqual({ rows: 2, oldestMs: 500, stalled: false });
    expect(w.backlog(1_501)).toEqual({ rows: 2, oldestMs: 501, stalled: true });
  });

  test('a row stamped ahead of the clock counts as age 0', async () => {
    const w = writer(500);
    await w.store(row(2_000));
    expect(w.backlog(1_000)).toEqual({ rows: 1, oldestMs: 0, stalled: false });
  });

  test('without backlogMaxMs it never reports a stall', async () => {
    const w = writer();
    await w.store(row(0));
    expect(w.backlog(86_400_000)).toEqual({ rows: 1, oldestMs: 86_400_000, stalled: false });
  });
});
