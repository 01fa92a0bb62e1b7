import { databases, MYSQL_URL } from './helpers/databases';
import { startTestRelay, useRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { TcpProxy } from './helpers/tcp-proxy';
import { closeAll, connect, eventually, expectRefused, type Client } from './helpers/ws';

describe.each(databases())('endpoint stats on $name', (db) => {
  const relay = useRelay(db);
  let ep: CreatedEndpoint;
  let bystander: CreatedEndpoint;
  const clients: Client[] = [];
  afterAll(() => closeAll(clients));

  const open = async (t: TestRelay, label: string) => {
    const c = await connect(t.wsUrl(ep.id, ep.token), {}, label);
    clients.push(c);
    return c;
  };
  const expectStats = (
    t: TestRelay,
    want: { currentConnections: number; totalConnections: number; totalMessages: number },
  ) =>
    eventually(
      () => t.stats(ep.id),
      (s) =>
        s.currentConnections === want.currentConnections &&
        s.totalConnections === want.totalConnections &&
        s.totalMessages === want.totalMessages,
      { what: `stats ${JSON.stringify(want)}` },
    );

  beforeAll(async () => {
    ep = await relay().createEndpoint('stats');
    bystander = await relay().createEndpoint('stats-bystander');
  });

  it('starts at zero with no lastMessageAt', async () => {
    expect(await relay().stats(ep.id)).toEqual({
      currentConnections: 0,
      totalConnections: 0,
      totalMessages: 0,
      lastMessageAt: null,
    });
  });

  it('is exact after a scripted sequence of connects, messages and disconnects', async () => {
    const t = relay();
    const t0 = Date.now();
    const [a, b, c] = [await open(t, 'a'), await open(t, 'b'), await open(t, 'c')];
    await expectStats(t, { currentConnections: 3, totalConnections: 3, totalMessages: 0 });

    await a.send('a1');
    await a.send('a2');
    await b.send(Buffer.from([1, 2, 3]));
    await b.send('b2');
    await b.send('b3');
    await c.waitForCount(5);
    await a.waitForCount(3);
    // Immediate mode writes the message count before forwarding: once delivered it is counted.
    const afterMessages = await t.stats(ep.id);
    expect(afterMessages).toMatchObject({ currentConnections: 3, totalConnections: 3, totalMessages: 5 });
    const last = Date.parse(afterMessages.lastMessageAt ?? '');
    expect(Number.isFinite(last)).toBe(true);
    // Same machine, so the server's timestamp is close to ours (catches timezone shifts too).
    expect(last).toBeGreaterThanOrEqual(t0 - 1000);
    expect(last).toBeLessThanOrEqual(Date.now() + 1000);

    await c.close();
    await expectStats(t, { currentConnections: 2, totalConnections: 3, totalMessages: 5 });

    const d = await open(t, 'd');
    await expectStats(t, { currentConnections: 3, totalConnections: 4, totalMessages: 5 });

    // A message nobody else receives is still a message.
    await b.close();
    await a.close();
    await expectStats(t, { currentConnections: 1, totalConnections: 4, totalMessages: 5 });
    const lastBefore = (await t.stats(ep.id)).lastMessageAt;
    await d.send('alone');
    await expectStats(t, { currentConnections: 1, totalConnections: 4, totalMessages: 6 });
    const lastAfter = (await t.stats(ep.id)).lastMessageAt;
    expect(Date.parse(lastAfter ?? '')).toBeGreaterThanOrEqual(Date.parse(lastBefore ?? ''));

    // Refused upgrades are not connections.
    expect((await expectRefused(t.wsUrl(ep.id, 'wrong'))).status).toBe(401);

    await d.close();
    await expectStats(t, { currentConnections: 0, totalConnections: 4, totalMessages: 6 });
  });

  it('keeps other endpoints’ stats untouched', async () => {
    expect(await relay().stats(bystander.id)).toEqual({
      currentConnections: 0,
      totalConnections: 0,
      totalMessages: 0,
      lastMessageAt: null,
    });
  });

  it('counts many concurrent messages exactly (no lost increments)', async () => {
    const t = relay();
    const before = await t.stats(ep.id);
    const senders = await Promise.all([0, 1, 2, 3].map((i) => open(t, `burst${i}`)));
    await Promise.all(senders.map((s) => Promise.all(Array.from({ length: 25 }, (_, k) => s.send(`m${k}`)))));
    await expectStats(t, {
      currentConnections: 4,
      totalConnections: before.totalConnections + 4,
      totalMessages: before.totalMessages + 100,
    });
    await closeAll(senders);
    await expectStats(t, {
      currentConnections: 0,
      totalConnections: before.totalConnections + 4,
      totalMessages: before.totalMessages + 100,
    });
  });

  it('counts the disconnect of a client closed for an oversize frame, and not the frame', async () => {
    const t = relay();
    const before = await t.stats(ep.id);
    const big = await open(t, 'big');
    await expectStats(t, {
      currentConnections: before.currentConnections + 1,
      totalConnections: before.totalConnections + 1,
      totalMessages: before.totalMessages,
    });
    await big.send(Buffer.alloc(64 * 1024 + 1)).catch(() => undefined);
    expect((await big.waitClosed()).code).toBe(1009);
    await expectStats(t, {
      currentConnections: before.currentConnections,
      totalConnections: before.totalConnections + 1,
      totalMessages: before.totalMessages,
    });
  });

  it('answers 404 for an unknown endpoint', async () => {
    const res = await relay().request('GET', '/api/endpoints/does-not-exist/stats');
    expect(res.status).toBe(404);
  });
});

/**
 * The legacy baseline the performance pack measures: in immediate mode a frame is forwarded only
 * after its stats write, so delivery latency follows database latency. Latency is injected with
 * a delaying TCP forwarder in front of MariaDB (SQLite is in-process: no honest way to slow it).
 */
const mysql = databases().find((d) => d.name === 'mysql');
(mysql ? describe : describe.skip)(
  'immediate mode forwards only after the stats write (MySQL, delayed link)',
  () => {
    const target = new URL(MYSQL_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 3306));
    let t: TestRelay | undefined;
    const clients: Client[] = [];

    beforeAll(async () => {
      if (mysql?.unavailable) throw new Error(mysql.unavailable);
      const url = new URL(MYSQL_URL);
      url.port = String(await proxy.start());
      t = await startTestRelay(url.toString());
    });
    afterAll(async () => {
      proxy.delayMs = 0;
      await closeAll(clients);
      await t?.stop();
      await proxy.stop();
    });

    it('delivery latency grows with database latency', async () => {
      const relay = t!;
      const ep = await relay.createEndpoint('latency');
      const a = await connect(relay.wsUrl(ep.id, ep.token), {}, 'a');
      const b = await connect(relay.wsUrl(ep.id, ep.token), {}, 'b');
      clients.push(a, b);
      const roundTrip = async (text: string) => {
        const n = b.frames.length;
        const t0 = Date.now();
        await a.send(text);
        await b.waitForCount(n + 1);
        return Date.now() - t0;
      };
      await roundTrip('warm-up');
      const fast = await roundTrip('fast');
      proxy.delayMs = 150;
      const slow = await roundTrip('slow');
      proxy.delayMs = 0;
      expect(fast).toBeLessThan(100);
      expect(slow).toBeGreaterThanOrEqual(150);
      expect((await relay.stats(ep.id)).totalMessages).toBe(3);
    });
  },
);
