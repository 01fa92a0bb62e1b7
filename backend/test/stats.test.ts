import { eachTarget, MYSQL_URL, onMysql, requireDb } from './helpers/databases';
import { startTestRelay, useRelay, type TestRelay } from './helpers/relay';
import { TcpProxy } from './helpers/tcp-proxy';
import { closeAll, connect, eventually, expectRefused, sleep, type Client } from './helpers/ws';

interface Want {
  currentConnections: number;
  totalConnections: number;
  totalMessages: number;
}

eachTarget('endpoint stats', (target) => {
  const relay = useRelay(target);
  let clients: Client[] = [];
  afterEach(async () => {
    await closeAll(clients);
    clients = [];
  });

  /** A fresh endpoint per test (no test reads another's counts) and a client opener for it. */
  const fresh = async (t: TestRelay, label = 'stats') => {
    const ep = await t.createEndpoint(label);
    const open = async (name: string) => {
      const c = await connect(t.wsUrl(ep.id, ep.token), {}, name);
      clients.push(c);
      return c;
    };
    // Batched stats reads merge the unwritten deltas, so both modes answer exactly at once
    // after the events; connects and disconnects are recorded a moment after the client sees them.
    const expectStats = (want: Want) =>
      eventually(
        () => t.stats(ep.id),
        (s) =>
          s.currentConnections === want.currentConnections &&
          s.totalConnections === want.totalConnections &&
          s.totalMessages === want.totalMessages,
        { what: `stats ${JSON.stringify(want)}` },
      );
    return { ep, open, expectStats };
  };

  it('starts at zero with no lastMessageAt', async () => {
    const t = relay();
    const { ep } = await fresh(t);
    expect(await t.stats(ep.id)).toEqual({
      currentConnections: 0,
      totalConnections: 0,
      totalMessages: 0,
      lastMessageAt: null,
    });
  });

  it('is exact after a scripted sequence of connects, messages and disconnects', async () => {
    const t = relay();
    const { ep, open, expectStats } = await fresh(t);
    const t0 = Date.now();
    const [a, b, c] = [await open('a'), await open('b'), await open('c')];
    await expectStats({ currentConnections: 3, totalConnections: 3, totalMessages: 0 });

    await a.send('a1');
    await a.send('a2');
    await b.send(Buffer.from([1, 2, 3]));
    await b.send('b2');
    await b.send('b3');
    await c.waitForCount(5);
    await a.waitForCount(3);
    // Both modes count a message before forwarding it (immediate writes it, batched adds it to
    // the pending delta that reads merge): once delivered, it is counted.
    const afterMessages = await t.stats(ep.id);
    expect(afterMessages).toMatchObject({ currentConnections: 3, totalConnections: 3, totalMessages: 5 });
    const last = Date.parse(afterMessages.lastMessageAt ?? '');
    expect(Number.isFinite(last)).toBe(true);
    // Same machine, so the server's timestamp is close to ours (catches timezone shifts too).
    expect(last).toBeGreaterThanOrEqual(t0 - 1000);
    expect(last).toBeLessThanOrEqual(Date.now() + 1000);

    await c.close();
    await expectStats({ currentConnections: 2, totalConnections: 3, totalMessages: 5 });

    const d = await open('d');
    await expectStats({ currentConnections: 3, totalConnections: 4, totalMessages: 5 });

    // A message nobody else receives is still a message.
    await b.close();
    await a.close();
    await expectStats({ currentConnections: 1, totalConnections: 4, totalMessages: 5 });
    const lastBefore = Date.parse((await t.stats(ep.id)).lastMessageAt ?? '');
    await sleep(5); // timestamps have millisecond resolution: make "later" observable
    await d.send('alone');
    await expectStats({ currentConnections: 1, totalConnections: 4, totalMessages: 6 });
    const lastAfter = Date.parse((await t.stats(ep.id)).lastMessageAt ?? '');
    expect(lastAfter).toBeGreaterThan(lastBefore);

    // Refused upgrades are not connections.
    expect((await expectRefused(t.wsUrl(ep.id, 'wrong'))).status).toBe(401);

    await d.close();
    await expectStats({ currentConnections: 0, totalConnections: 4, totalMessages: 6 });
  });

  it('keeps other endpoints’ stats untouched', async () => {
    const t = relay();
    const busy = await fresh(t, 'stats-busy');
    const { ep: bystander } = await fresh(t, 'stats-bystander');
    const [a] = [await busy.open('a'), await busy.open('b')];
    await a.send('x');
    await busy.expectStats({ currentConnections: 2, totalConnections: 2, totalMessages: 1 });
    expect(await t.stats(bystander.id)).toEqual({
      currentConnections: 0,
      totalConnections: 0,
      totalMessages: 0,
      lastMessageAt: null,
    });
  });

  it('counts many concurrent messages exactly (no lost increments)', async () => {
    const t = relay();
    const { open, expectStats } = await fresh(t);
    const senders = await Promise.all([0, 1, 2, 3].map((i) => open(`burst${i}`)));
    await Promise.all(senders.map((s) => Promise.all(Array.from({ length: 25 }, (_, k) => s.send(`m${k}`)))));
    await expectStats({ currentConnections: 4, totalConnections: 4, totalMessages: 100 });
    await closeAll(senders);
    await expectStats({ currentConnections: 0, totalConnections: 4, totalMessages: 100 });
  });

  it('counts the disconnect of a client closed for an oversize frame, and not the frame', async () => {
    const t = relay();
    const { open, expectStats } = await fresh(t);
    const big = await open('big');
    await expectStats({ currentConnections: 1, totalConnections: 1, totalMessages: 0 });
    await big.send(Buffer.alloc(64 * 1024 + 1)).catch(() => undefined);
    expect((await big.waitClosed()).code).toBe(1009);
    await expectStats({ currentConnections: 0, totalConnections: 1, totalMessages: 0 });
  });

  it('answers 404 for an unknown endpoint', async () => {
    const res = await relay().request('GET', '/api/endpoints/does-not-exist/stats');
    expect(res.status).toBe(404);
  });
});

/**
 * What the modes promise about the database on the message path: immediate forwards a frame
 * only after its stats write (the legacy baseline the performance pack measures); batched never
 * waits for the database. The database's answers are held by a TCP forwarder in front of
 * MariaDB (SQLite is in-process: there is no honest way to stall it).
 */
onMysql('forwarding while the database is stalled', (db) => {
  const proxy = new TcpProxy(new URL(MYSQL_URL).hostname, Number(new URL(MYSQL_URL).port || 3306));
  const relays: TestRelay[] = [];
  let clients: Client[] = [];
  beforeAll(async () => {
    requireDb(db);
    await proxy.start();
  });
  afterEach(async () => {
    proxy.resume();
    await closeAll(clients);
    clients = [];
  });
  afterAll(async () => {
    proxy.resume();
    for (const t of relays) await t.stop();
    await proxy.stop();
  });

  const relayVia = async (mode: 'immediate' | 'batched') => {
    const url = new URL(MYSQL_URL);
    url.port = String(proxy.port);
    const t = await startTestRelay(url.toString(), { STATS_MODE: mode });
    relays.push(t);
    const ep = await t.createEndpoint(`stall-${mode}`);
    const [a, b] = [await connect(t.wsUrl(ep.id, ep.token)), await connect(t.wsUrl(ep.id, ep.token))];
    clients.push(a, b);
    await a.send('warm-up');
    await b.waitForCount(1);
    return { t, ep, a, b };
  };
  /** Sends one frame while the database answers nothing, and waits until the relay has read it. */
  const sendStalled = async (t: TestRelay, a: Client) => {
    const received = t.relay.metrics.counters.framesReceived;
    proxy.pause();
    await a.send('stalled');
    await eventually(
      async () => t.relay.metrics.counters.framesReceived,
      (n) => n === received + 1,
      { what: 'frame read by the relay' },
    );
  };

  it('immediate mode holds the frame until its stats write completes', async () => {
    const { t, ep, b } = await relayVia('immediate');
    await sendStalled(t, clients[0]);
    await sleep(300); // ample for a forward that did not wait for the database
    expect(b.frames.map((f) => f.data.toString())).toEqual(['warm-up']);
    proxy.resume();
    await b.waitForCount(2);
    expect(b.frames.map((f) => f.data.toString())).toEqual(['warm-up', 'stalled']);
    expect((await t.stats(ep.id)).totalMessages).toBe(2);
  });

  it('batched mode forwards the frame while the database is stalled', async () => {
    const { t, ep, b } = await relayVia('batched');
    await sendStalled(t, clients[0]);
    await b.waitForCount(2);
    expect(b.frames.map((f) => f.data.toString())).toEqual(['warm-up', 'stalled']);
    proxy.resume();
    expect((await t.stats(ep.id)).totalMessages).toBe(2);
  });
});
