import { eachDb, requireDb } from './helpers/databases';
import { metricValue } from './helpers/db-outage';
import { startTestRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

interface Row {
  id: number;
  payload: { i: number };
}

const frame = (deviceId: string, i: number) => JSON.stringify({ type: 'device_data', deviceId, data: { i } });

const BATCH = 12;

async function metric(t: TestRelay, sample: string): Promise<number> {
  return metricValue((await t.request('GET', '/metrics')).text, sample);
}

async function rows(t: TestRelay, endpointId: string, deviceId: string): Promise<Row[]> {
  const res = await t.request<Row[]>(
    'GET',
    `/api/endpoints/${endpointId}/devices/${deviceId}/data?limit=1000`,
  );
  if (res.status !== 200) throw new Error(`data: ${res.status} ${res.text}`);
  return res.body;
}

/**
 * Rows waiting in the batched writer whose endpoint is deleted before they are written. The
 * timer is an hour long, so only a full batch (DEVICE_DATA_BATCH_SIZE rows) starts a flush:
 * what is written, and when, is decided by the test alone.
 */
eachDb('device data of an endpoint deleted while queued', (db) => {
  let url: string;
  let t: TestRelay | undefined;
  const clients: Client[] = [];

  beforeAll(async () => {
    requireDb(db);
    url = db.url();
    t = await startTestRelay(url, {
      STATS_MODE: 'batched',
      STATS_FLUSH_INTERVAL_MS: '3600000',
      DEVICE_DATA_BATCH_SIZE: String(BATCH),
    });
  });
  afterEach(async () => {
    await closeAll(clients.splice(0));
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Sends `n` readings numbered from `from` and waits until the relay has forwarded them. */
  async function send(sender: Client, peer: Client, deviceId: string, from: number, n: number) {
    const seen = peer.frames.length;
    for (let i = from; i < from + n; i++) await sender.send(frame(deviceId, i));
    await peer.waitForCount(seen + n);
  }

  async function pair(ep: CreatedEndpoint): Promise<[Client, Client]> {
    const a = await connect(t!.wsUrl(ep.id, ep.token), {}, `${ep.name}-a`);
    const b = await connect(t!.wsUrl(ep.id, ep.token), {}, `${ep.name}-b`);
    clients.push(a, b);
    return [a, b];
  }

  it('deleted by another relay sharing the database: the batch is not stuck, other rows are stored exactly, the orphans dropped and counted', async () => {
    const relay = t!;
    const doomed = await relay.createEndpoint('doomed');
    const kept = await relay.createEndpoint('kept');
    const [da, db2] = await pair(doomed);
    const [ka, kb] = await pair(kept);
    const orphanedBefore = await metric(relay, 'relay_device_data_orphaned_total');

    // 5 + 6 = 11 rows queued, one short of a batch.
    await send(da, db2, 'dev', 0, 5);
    await send(ka, kb, 'dev', 0, 6);
    expect(await metric(relay, 'relay_device_data_queued')).toBe(11);

    // Another instance (hosts scale out over one database) deletes the endpoint: this relay's
    // writer is never told, so only the database's foreign key can reveal it.
    const other = await startTestRelay(url, { STATS_MODE: 'batched' });
    try {
      expect((await other.request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(204);
    } finally {
      await other.stop();
    }

    // The 12th row fills the batch; its INSERT hits the foreign key.
    await send(ka, kb, 'dev', 6, 1);
    const stored = await eventually(
      () => rows(relay, kept.id, 'dev'),
      (r) => r.length >= 7,
      { what: 'the kept endpoint’s 7 rows', timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(stored.map((r) => r.payload.i).reverse()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await metric(relay, 'relay_device_data_orphaned_total')).toBe(orphanedBefore + 5);
    // The rows are visible to other connections a moment before the writer hears its INSERT
    // succeeded and takes them off the queue.
    await eventually(
      () => metric(relay, 'relay_device_data_queued'),
      (n) => n === 0,
      { what: 'an empty queue', timeoutMs: 10_000, intervalMs: 20 },
    );

    // And the writer keeps going: the next full batch is written too.
    await send(ka, kb, 'dev', 7, BATCH);
    const all = await eventually(
      () => rows(relay, kept.id, 'dev'),
      (r) => r.length >= 7 + BATCH,
      { what: `${7 + BATCH} rows`, timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(all.map((r) => r.payload.i).reverse()).toEqual([...Array(7 + BATCH).keys()]);
    const direct = await relay.relay.db.prisma.deviceData.count({ where: { endpointId: doomed.id } });
    expect(direct).toBe(0);
  });

  it('deleted through this relay’s API: its queued rows are dropped and counted, the rest written exactly', async () => {
    const relay = t!;
    const doomed = await relay.createEndpoint('doomed-api');
    const kept = await relay.createEndpoint('kept-api');
    const [da, db2] = await pair(doomed);
    const [ka, kb] = await pair(kept);
    const orphanedBefore = await metric(relay, 'relay_device_data_orphaned_total');

    await send(da, db2, 'dev', 0, 4);
    await send(ka, kb, 'dev', 0, 3);
    expect(await metric(relay, 'relay_device_data_queued')).toBe(7);
    expect((await relay.request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(204);
    expect(await metric(relay, 'relay_device_data_orphaned_total')).toBe(orphanedBefore + 4);
    expect(await metric(relay, 'relay_device_data_queued')).toBe(3);

    await send(ka, kb, 'dev', 3, BATCH - 3);
    const stored = await eventually(
      () => rows(relay, kept.id, 'dev'),
      (r) => r.length >= BATCH,
      { what: `${BATCH} rows`, timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(stored.map((r) => r.payload.i).reverse()).toEqual([...Array(BATCH).keys()]);
    // The rows are visible to other connections a moment before the writer hears its INSERT
    // succeeded and takes them off the queue.
    await eventually(
      () => metric(relay, 'relay_device_data_queued'),
      (n) => n === 0,
      { what: 'an empty queue', timeoutMs: 10_000, intervalMs: 20 },
    );
  });
});
