import { eachDb, requireDb, scratchDatabase } from './helpers/databases';
import { startTestRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, sleep, type Client } from './helpers/ws';

const reading = (i: number) => JSON.stringify({ type: 'device_data', deviceId: 'd', data: { i } });

/**
 * Found by the pack's IoT scenarios on MariaDB: with the connection pool exhausted, reading the
 * alert rules failed after the reading had been queued, and the sender was told "device data
 * could not be stored; retry later" for a reading that was stored (a client that retries
 * stores it twice). The rules' table is renamed away here, so only the rules cannot be read.
 */
eachDb('alert rules that cannot be read', (db) => {
  let scratch: { url: string; drop(): Promise<void> } | undefined;
  let t: TestRelay | undefined;
  const clients: Client[] = [];

  beforeAll(async () => {
    requireDb(db);
    scratch = await scratchDatabase(db);
    t = await startTestRelay(scratch.url, { STATS_MODE: 'batched' });
  });
  afterAll(async () => {
    await closeAll(clients);
    await t?.stop();
    await scratch?.drop();
  });

  it('do not make the relay tell the sender a stored reading was not stored', async () => {
    const relay = t!;
    const ep = await relay.createEndpoint('rules-away');
    for (const label of ['sender', 'peer'])
      clients.push(await connect(relay.wsUrl(ep.id, ep.token), {}, label));
    const [sender, peer] = clients;
    const prisma = relay.relay.db.prisma;
    await prisma.$executeRawUnsafe('ALTER TABLE `AlertRule` RENAME TO `AlertRule_away`');
    try {
      for (let i = 1; i <= 3; i++) await sender.send(reading(i));
      await peer.waitForCount(3);
      const stored = async () => {
        const res = await relay.request<{ readings: number }>(
          'GET',
          `/api/endpoints/${ep.id}/devices/d/stats`,
        );
        return res.body.readings;
      };
      await eventually(stored, (n) => n === 3, { what: '3 readings stored', timeoutMs: 20_000 });
      await sleep(300); // an error frame would follow the failed rule read at once
      expect(sender.frames.map((f) => f.data.toString())).toEqual([]);
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE `AlertRule_away` RENAME TO `AlertRule`');
    }
  });
});
