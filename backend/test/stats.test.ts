import './helpers/js-extension';
import { databases } from './helpers/databases';
import { useRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
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

  it('answers 404 for an unknown endpoint', async () => {
    const res = await relay().request('GET', '/api/endpoints/does-not-exist/stats');
    expect(res.status).toBe(404);
  });
});
