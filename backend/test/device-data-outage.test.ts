import { eachDb, requireDb } from './helpers/databases';
import { dbOutage, metricValue, type DbOutage } from './helpers/db-outage';
import { startTestRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually } from './helpers/ws';

interface Row {
  id: number;
  deviceId: string;
  payload: { i: number };
  createdAt: string;
}

const frame = (deviceId: string, i: number) => JSON.stringify({ type: 'device_data', deviceId, data: { i } });

async function metrics(t: TestRelay): Promise<string> {
  const res = await t.request('GET', '/metrics');
  if (res.status !== 200) throw new Error(`metrics: ${res.status}`);
  return res.text;
}

const FAILED = 'relay_flush_rows_total{kind="device_data",outcome="failed"}';
const OK = 'relay_flush_rows_total{kind="device_data",outcome="ok"}';

/**
 * Batched device data while the database refuses writes: a failed batch stays queued and is
 * written, in order and exactly once, when the database is back.
 */
eachDb('device data across a database outage', (db) => {
  let outage: DbOutage | undefined;
  let t: TestRelay | undefined;

  beforeAll(async () => {
    requireDb(db);
    outage = await dbOutage(db);
    t = await startTestRelay(outage.url, {
      STATS_MODE: 'batched',
      STATS_FLUSH_INTERVAL_MS: '100',
      // Several batches per flush, so order across batches is exercised too.
      DEVICE_DATA_BATCH_SIZE: '4',
      ...outage.env,
    });
  });
  afterAll(async () => {
    await outage?.end();
    await t?.stop();
    await outage?.close();
  });

  it('keeps the refused rows and writes them in order after recovery, none lost or duplicated', async () => {
    const relay = t!;
    const ep = await relay.createEndpoint('dd-outage');
    const rows = async (deviceId: string) => {
      const res = await relay.request<Row[]>(
        'GET',
        `/api/endpoints/${ep.id}/devices/${deviceId}/data?limit=1000`,
      );
      if (res.status !== 200) throw new Error(`data of ${deviceId}: ${res.status} ${res.text}`);
      return res.body;
    };
    const a = await connect(relay.wsUrl(ep.id, ep.token), {}, 'a');
    const b = await connect(relay.wsUrl(ep.id, ep.token), {}, 'b');
    try {
      for (let i = 0; i < 3; i++) await a.send(frame('d1', i));
      await eventually(
        () => rows('d1'),
        (r) => r.length === 3,
        { what: '3 rows before the outage' },
      );
      const failedBefore = metricValue(await metrics(relay), FAILED);

      await outage!.begin();
      // d1 continues its sequence; d2 starts; both interleaved across batch boundaries.
      for (let i = 0; i < 10; i++) {
        await a.send(frame('d1', 3 + i));
        await a.send(frame('d2', i));
      }
      await b.waitForCount(20);
      await eventually(
        () => metrics(relay),
        (text) => metricValue(text, FAILED) > failedBefore,
        { what: 'a failed device_data flush', timeoutMs: 20_000, intervalMs: 100 },
      );
      // Refused, not dropped: every reading is still queued.
      expect(metricValue(await metrics(relay), 'relay_device_data_queued')).toBe(20);
      for (let i = 13; i < 15; i++) await a.send(frame('d1', i));
      await b.waitForCount(22);
      await outage!.end();

      const d1 = await eventually(
        () => rows('d1'),
        (r) => r.length >= 15,
        { what: '15 rows of d1 after recovery', timeoutMs: 20_000, intervalMs: 100 },
      );
      const d2 = await eventually(
        () => rows('d2'),
        (r) => r.length >= 10,
        { what: '10 rows of d2 after recovery', timeoutMs: 20_000, intervalMs: 100 },
      );
      // The API answers newest first; oldest first, payloads and ids must both rise with i:
      // written in the order received, each exactly once.
      for (const [list, n] of [
        [d1, 15],
        [d2, 10],
      ] as const) {
        const oldestFirst = [...list].reverse();
        expect(oldestFirst.map((r) => r.payload.i)).toEqual([...Array(n).keys()]);
        const ids = oldestFirst.map((r) => r.id);
        expect([...ids].sort((x, y) => x - y)).toEqual(ids);
        expect(new Set(ids).size).toBe(n);
      }
      const text = await metrics(relay);
      expect(metricValue(text, FAILED)).toBeGreaterThan(failedBefore);
      // Each of the 25 readings was written by exactly one successful batch.
      expect(metricValue(text, OK)).toBe(25);
      expect(metricValue(text, 'relay_device_data_queued')).toBe(0);
      // No reading was refused to its sender: they were all kept.
      expect(a.json<{ type: string }>().filter((m) => m.type === 'error')).toEqual([]);
    } finally {
      await closeAll([a, b]);
    }
  });
});
