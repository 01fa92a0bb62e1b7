import type { Db } from '../src/db/prisma';
import { QueueFullError } from '../src/services/device-data/device-data-writer';
import { ImmediateDeviceDataWriter } from '../src/services/device-data/immediate-device-data-writer';
import { eachDb } from './helpers/databases';
import { relayBehindOutage } from './helpers/db-outage';
import { connect, eventually, type Client } from './helpers/ws';

const reading = (deviceId: string, i: number) =>
  JSON.stringify({ type: 'device_data', deviceId, data: { i } });
const errorsOf = (c: Client) => c.json<{ type: string; message: string }>().filter((m) => m.type === 'error');

/**
 * The legacy STATS_MODE=immediate writes each reading with its own INSERT, so it cannot hold a
 * reading while the database is away: the sender must hear that it was not stored and should
 * retry later (what the batched writer says once its queue is full), and the frame is still
 * forwarded.
 */
eachDb('immediate mode: readings the database cannot take', (db) => {
  const { relay: relayOf, outage: outageOf, clients } = relayBehindOutage(db, { STATS_MODE: 'immediate' });

  it('answers a reading sent while the database is down with "retry later", forwards it, stores it not; stores the next one after', async () => {
    const relay = relayOf();
    const ep = await relay.createEndpoint('imm-refusal');
    for (const label of ['sender', 'peer'])
      clients.push(await connect(relay.wsUrl(ep.id, ep.token), {}, label));
    const [sender, peer] = clients;
    const count = async () => {
      const res = await relay.request<{ readings: number }>('GET', `/api/endpoints/${ep.id}/devices/d/stats`);
      if (res.status !== 200) throw new Error(`device stats: ${res.status} ${res.text}`);
      return res.body.readings;
    };

    await outageOf().begin();
    try {
      await sender.send(reading('d', 1));
      await peer.waitForCount(1, 30_000); // forwarded all the same
      await sender.waitFor(() => errorsOf(sender).length === 1, 30_000, 'an error frame');
      expect(errorsOf(sender)[0].message).toBe('device data could not be stored; retry later');
    } finally {
      await outageOf().end();
    }
    expect(await count()).toBe(0);

    await sender.send(reading('d', 2));
    await peer.waitForCount(2, 30_000);
    await eventually(count, (n) => n === 1, {
      what: 'the reading after the outage stored',
      timeoutMs: 15_000,
    });
    expect(errorsOf(sender)).toHaveLength(1);
    expect(peer.frames.map((f) => f.data.toString())).toEqual([reading('d', 1), reading('d', 2)]);
  });
});

/**
 * Backed up: a database slow enough that DEVICE_DATA_QUEUE_MAX inserts are still pending. A
 * real database cannot be made that slow for INSERTs alone (immediate mode awaits each frame's
 * stats UPDATE first), so the database here is a stand-in whose INSERTs wait for the test.
 */
describe('immediate device-data writer, backed up', () => {
  function slowDb() {
    const pending: (() => void)[] = [];
    const db = {
      deviceData: { create: () => new Promise<void>((resolve) => pending.push(resolve)) },
    } as unknown as Db;
    return { db, pending };
  }
  const row = (i: number) => ({ endpointId: 'e', deviceId: 'd', payload: { i }, createdAt: new Date() });

  it('refuses readings beyond maxInFlight pending INSERTs with "retry later", counts each, and takes them again once one is written', async () => {
    const { db, pending } = slowDb();
    let dropped = 0;
    const writer = new ImmediateDeviceDataWriter(db, { maxInFlight: 2, onDrop: () => dropped++ });
    const first = writer.store(row(1));
    const second = writer.store(row(2));
    await expect(writer.store(row(3))).rejects.toThrow(QueueFullError);
    await expect(writer.store(row(4))).rejects.toThrow(/reading not stored; retry later/);
    expect(dropped).toBe(2);
    expect(pending).toHaveLength(2);

    pending[0]();
    await first;
    const third = writer.store(row(5));
    expect(pending).toHaveLength(3);
    pending[1]();
    pending[2]();
    await Promise.all([second, third]);
    expect(dropped).toBe(2);
    expect(await writer.drain(100)).toBe(true);
  });
});
