/**
 * DeviceDataService on a recording fake database: what the read API asks for. The relay suites
 * (device-data.test.ts) check the rows that come back on both databases; the tie-break among
 * readings of the same millisecond (common: a batch stores many) cannot be seen there, because
 * both databases happen to return ties in the index's order, which ends in the key.
 */
import type { Db } from '../src/db/prisma';
import { DeviceDataService } from '../src/services/device-data.service';
import type { DeviceDataWriter } from '../src/services/device-data/device-data-writer';

function setup() {
  const calls: { op: string; args: unknown }[] = [];
  const db = {
    deviceData: {
      findMany: async (args: unknown) => {
        calls.push({ op: 'findMany', args });
        return [];
      },
      count: async (args: unknown) => {
        calls.push({ op: 'count', args });
        return 3;
      },
    },
  } as unknown as Db;
  const writer = {} as DeviceDataWriter;
  return { service: new DeviceDataService(db, writer), calls };
}

describe('DeviceDataService reads', () => {
  test('query: the newest readings of the device in the window first, ties by the newest key, at most `limit`', async () => {
    const t = setup();
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-01-02T00:00:00Z');
    await t.service.query('ep', 'd1', { from, to, limit: 5 });
    expect(t.calls).toEqual([
      {
        op: 'findMany',
        args: {
          where: { endpointId: 'ep', deviceId: 'd1', createdAt: { gte: from, lte: to } },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: 5,
          select: { id: true, deviceId: true, payload: true, createdAt: true },
        },
      },
    ]);
  });

  test('count: the exact number of stored readings of that device of that endpoint', async () => {
    const t = setup();
    expect(await t.service.count('ep', 'd1')).toBe(3);
    expect(t.calls).toEqual([{ op: 'count', args: { where: { endpointId: 'ep', deviceId: 'd1' } } }]);
  });
});
