import { randomUUID } from 'node:crypto';
import { eachTarget } from './helpers/databases';
import { useRelay, type CreatedEndpoint } from './helpers/relay';
import { closeAll, connect, eventually, expectRefused, type Client } from './helpers/ws';

eachTarget('WebSocket upgrade auth', (target) => {
  const relay = useRelay(target);
  let ep: CreatedEndpoint;
  let other: CreatedEndpoint;
  let open: Client[] = [];

  // Fresh endpoints per test: what one test connects or refuses never shows in another's counts.
  beforeEach(async () => {
    ep = await relay().createEndpoint('auth');
    other = await relay().createEndpoint('auth-other');
  });
  afterEach(async () => {
    await closeAll(open);
    open = [];
  });

  const port = () => relay().port;

  it('refuses an unknown endpoint with 404 before the upgrade', async () => {
    const res = await expectRefused(relay().wsUrl(randomUUID(), ep.token));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: expect.stringMatching(/endpoint/i) });
  });

  it('refuses a missing token with 401', async () => {
    expect((await expectRefused(relay().wsUrl(ep.id))).status).toBe(401);
    expect((await expectRefused(relay().wsUrl(ep.id, ''))).status).toBe(401);
  });

  it('refuses a wrong token with 401, including another endpoint’s valid token', async () => {
    expect((await expectRefused(relay().wsUrl(ep.id, 'not-the-token'))).status).toBe(401);
    expect((await expectRefused(relay().wsUrl(ep.id, other.token))).status).toBe(401);
    expect((await expectRefused(relay().wsUrl(ep.id, `${ep.token}x`))).status).toBe(401);
    // The API key is not an endpoint token.
    expect((await expectRefused(relay().wsUrl(ep.id, relay().apiKey))).status).toBe(401);
  });

  it('refuses a wrong Authorization: Bearer header with 401', async () => {
    const res = await expectRefused(relay().wsUrl(ep.id), { headers: { Authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
  });

  it('refuses odd endpoint ids with 404 (not 500/503): very long, unicode, encoded slash', async () => {
    for (const id of ['x'.repeat(500), '🚀', 'a/b']) {
      const res = await expectRefused(relay().wsUrl(id, ep.token));
      expect([id, res.status]).toEqual([id, 404]);
    }
  });

  it('refuses a malformed percent-encoding in the endpoint id with 400', async () => {
    const res = await expectRefused(`ws://127.0.0.1:${port()}/ws/%E0%A4%A?token=x`);
    expect(res.status).toBe(400);
  });

  it('refuses unknown paths with 404', async () => {
    for (const p of [
      '/',
      '/foo',
      '/ws',
      '/ws/',
      `/ws/${ep.id}/extra`,
      `/api/endpoints/${ep.id}`,
      `/wsx/${ep.id}`,
    ]) {
      const res = await expectRefused(`ws://127.0.0.1:${port()}${p}?token=${ep.token}`);
      expect([p, res.status]).toEqual([p, 404]);
    }
  });

  it('never registers or counts a refused connection', async () => {
    const t = relay();
    const refusedBefore = await t.metric('relay_connections_refused_total');
    for (const url of [t.wsUrl(ep.id), t.wsUrl(ep.id, 'wrong'), t.wsUrl(ep.id, other.token)])
      expect((await expectRefused(url)).status).toBe(401);
    expect((await t.metric('relay_connections_refused_total')) - refusedBefore).toBe(3);
    // A socket that is accepted afterwards is counted, so the zero below is not a stale read.
    open.push(await connect(t.wsUrl(other.id, other.token)));
    await eventually(
      () => t.stats(other.id),
      (s) => s.totalConnections === 1,
      { what: 'the accepted socket counted' },
    );
    expect(t.relay.connections.count(ep.id)).toBe(0);
    expect(await t.stats(ep.id)).toMatchObject({ currentConnections: 0, totalConnections: 0 });
  });

  it('accepts the token in the query string', async () => {
    const c = await connect(relay().wsUrl(ep.id, ep.token));
    open.push(c);
    expect(c.isOpen).toBe(true);
    expect(relay().relay.connections.count(ep.id)).toBe(1);
  });

  it('accepts the token as Authorization: Bearer on the upgrade request, and it talks to a query-token client', async () => {
    open.push(await connect(relay().wsUrl(ep.id, ep.token)));
    const c = await connect(relay().wsUrl(ep.id), { headers: { Authorization: `Bearer ${ep.token}` } });
    open.push(c);
    expect(relay().relay.connections.count(ep.id)).toBe(2);
    await c.send('via-header', false);
    await open[0].waitForCount(1);
    expect(open[0].frames[0].data.toString()).toBe('via-header');
  });

  it('accepts a trailing slash on the endpoint path', async () => {
    const c = await connect(`ws://127.0.0.1:${port()}/ws/${ep.id}/?token=${encodeURIComponent(ep.token)}`);
    open.push(c);
    expect(c.isOpen).toBe(true);
    expect(relay().relay.connections.count(ep.id)).toBe(1);
  });
});
