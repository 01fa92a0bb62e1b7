import { randomUUID } from 'node:crypto';
import { eachTarget, MYSQL_URL, onMysql, requireDb } from './helpers/databases';
import { startTestRelay, useRelay, type CreatedEndpoint } from './helpers/relay';
import { TcpProxy } from './helpers/tcp-proxy';
import { expectRefused } from './helpers/ws';

interface ErrorBody {
  error: string;
}

eachTarget('REST API', (target) => {
  const relay = useRelay(target);

  describe('auth', () => {
    it('answers 401 without an Authorization header', async () => {
      const res = await relay().request('GET', '/api/endpoints', { auth: null });
      expect(res.status).toBe(401);
      expect((res.body as ErrorBody).error).toEqual(expect.any(String));
    });

    it('answers 401 for a wrong key, a wrong scheme, an empty bearer and a key prefix', async () => {
      const key = relay().apiKey;
      for (const auth of [
        'Bearer wrong-key-wrong-key',
        `Basic ${key}`,
        'Bearer ',
        `Bearer ${key.slice(0, -1)}`,
        `Bearer ${key}x`,
        key,
      ]) {
        const res = await relay().request('GET', '/api/endpoints', { auth });
        expect([auth, res.status]).toEqual([auth, 401]);
      }
    });

    it('says which is wrong: no Bearer credentials at all, or a key that does not match', async () => {
      for (const [auth, error] of [
        ['Basic abc', 'missing Authorization: Bearer <API_KEY> header'],
        ['Bearer', 'missing Authorization: Bearer <API_KEY> header'],
        ['bearer wrong-key-wrong-key', 'invalid API key'],
      ]) {
        const res = await relay().request<ErrorBody>('GET', '/api/endpoints', { auth });
        expect([auth, res.status, res.body.error]).toEqual([auth, 401, error]);
      }
    });

    it('accepts the Bearer scheme in any case and after several spaces (RFC 7235)', async () => {
      const key = relay().apiKey;
      for (const auth of [`bearer ${key}`, `BEARER ${key}`, `Bearer   ${key}`]) {
        const res = await relay().request('GET', '/api/endpoints', { auth });
        expect([auth, res.status]).toEqual([auth, 200]);
      }
    });

    it('protects every /api route, including unknown ones and writes', async () => {
      for (const [method, path] of [
        ['POST', '/api/endpoints'],
        ['GET', `/api/endpoints/${randomUUID()}`],
        ['DELETE', `/api/endpoints/${randomUUID()}`],
        ['GET', `/api/endpoints/${randomUUID()}/stats`],
        ['GET', '/api/nope'],
      ]) {
        const body = method === 'POST' ? { name: 'x' } : undefined;
        const res = await relay().request(method, path, { auth: null, body });
        expect([method, path, res.status]).toEqual([method, path, 401]);
      }
    });

    it('serves /health without a key, 200 with the db up', async () => {
      const res = await relay().request<{ status: string; db: string; provider: string }>('GET', '/health', {
        auth: null,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        db: 'up',
        provider: target.db.name,
        statsMode: target.statsMode,
      });
    });
  });

  describe('endpoints', () => {
    it('creates an endpoint: 201 with id, name, one-time token, wsUrl and createdAt', async () => {
      const t = relay();
      const before = Date.now();
      const res = await t.request<CreatedEndpoint>('POST', '/api/endpoints', {
        body: { name: `  rest-${t.runId}  ` },
      });
      expect(res.status).toBe(201);
      const created = res.body;
      t.created.add(created.id);
      expect(created).toEqual({
        id: expect.any(String),
        name: `rest-${t.runId}`,
        token: expect.any(String),
        wsUrl: `ws://127.0.0.1:${t.port}/ws/${created.id}`,
        createdAt: expect.any(String),
      });
      expect(created.token.length).toBeGreaterThanOrEqual(16);
      const createdAt = Date.parse(created.createdAt);
      expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
      expect(createdAt).toBeLessThanOrEqual(Date.now() + 1000);
    });

    it('stores only the token hash', async () => {
      const created = await relay().createEndpoint('hash');
      const row = await relay().relay.db.prisma.endpoint.findUnique({ where: { id: created.id } });
      expect(row).not.toBeNull();
      expect(JSON.stringify(row)).not.toContain(created.token);
    });

    it('gets one endpoint and lists it, never showing the token', async () => {
      const t = relay();
      const created = await t.createEndpoint('get');
      const one = await t.request<Record<string, unknown>>('GET', `/api/endpoints/${created.id}`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual({
        id: created.id,
        name: created.name,
        createdAt: created.createdAt,
        wsUrl: created.wsUrl,
      });
      const second = await t.createEndpoint('list');
      const list = await t.request<Array<Record<string, unknown>>>('GET', '/api/endpoints');
      expect(list.status).toBe(200);
      // The MySQL db is shared with parallel runs: check ours are there, not the total.
      const ours = list.body.filter((e) => e.id === created.id || e.id === second.id);
      expect(ours.map((e) => e.id).sort()).toEqual([created.id, second.id].sort());
      for (const e of list.body) {
        expect(e).not.toHaveProperty('token');
        expect(e).not.toHaveProperty('tokenHash');
      }
      expect(one.text).not.toContain(created.token);
      expect(list.text).not.toContain(created.token);
    });

    it('lists endpoints oldest first, by creation time rather than by insert or key order', async () => {
      const t = relay();
      const inserted: string[] = [];
      for (const name of ['list-a', 'list-b', 'list-c']) inserted.push((await t.createEndpoint(name)).id);
      const byKey = [...inserted].sort();
      // Creation times in an order that is neither the insert order (SQLite's scan) nor the key
      // order (InnoDB's): both rotations differ from the insert order, at most one is the key order.
      const rotations = [
        [1, 2, 0],
        [2, 0, 1],
      ].map((r) => r.map((i) => inserted[i]));
      const wanted = rotations.find((p) => p.some((id, i) => id !== byKey[i]))!;
      const base = Date.now() + 60_000;
      for (const [i, id] of wanted.entries()) {
        await t.relay.db.prisma.endpoint.update({
          where: { id },
          data: { createdAt: new Date(base + i * 1000) },
        });
      }
      const list = await t.request<Array<{ id: string }>>('GET', '/api/endpoints');
      expect(list.body.map((e) => e.id).filter((id) => inserted.includes(id))).toEqual(wanted);
    });

    it('deletes an endpoint: 204, then 404 for get, delete and stats', async () => {
      const t = relay();
      const created = await t.createEndpoint('delete');
      expect((await t.request('GET', `/api/endpoints/${created.id}`)).status).toBe(200);
      expect((await t.request('DELETE', `/api/endpoints/${created.id}`)).status).toBe(204);
      expect((await t.request('GET', `/api/endpoints/${created.id}`)).status).toBe(404);
      expect((await t.request('DELETE', `/api/endpoints/${created.id}`)).status).toBe(404);
      expect((await t.request('GET', `/api/endpoints/${created.id}/stats`)).status).toBe(404);
      const list = await t.request<Array<{ id: string }>>('GET', '/api/endpoints');
      expect(list.body.map((e) => e.id)).not.toContain(created.id);
    });
  });

  describe('PUBLIC_WS_URL', () => {
    const publicRelay = useRelay(target, { PUBLIC_WS_URL: 'wss://relay.example.com/' });
    it('builds wsUrl from PUBLIC_WS_URL instead of the Host header', async () => {
      const ep = await publicRelay().createEndpoint('public-url');
      expect(ep.wsUrl).toBe(`wss://relay.example.com/ws/${ep.id}`);
      const one = await publicRelay().request<{ wsUrl: string }>('GET', `/api/endpoints/${ep.id}`);
      expect(one.body.wsUrl).toBe(`wss://relay.example.com/ws/${ep.id}`);
    });
  });

  describe('validation', () => {
    it.each([
      ['missing name', {}, 'name'],
      ['name is a number', { name: 123 }, 'name'],
      ['name is null', { name: null }, 'name'],
      ['name is empty', { name: '' }, 'name'],
      ['name is blank', { name: '   ' }, 'name'],
      ['name is an object', { name: { a: 1 } }, 'name'],
    ])('POST /api/endpoints with %s -> 400 naming the field', async (_label, body, field) => {
      const res = await relay().request<ErrorBody>('POST', '/api/endpoints', { body });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain(field);
    });

    it('answers 400 for a malformed JSON body', async () => {
      const res = await relay().request<ErrorBody>('POST', '/api/endpoints', { rawBody: '{"name": "x",' });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/json/i);
    });

    it('answers 400 (not 500) for a JSON body that is not an object', async () => {
      for (const rawBody of ['[]', '"name"', '42', 'null']) {
        const res = await relay().request<ErrorBody>('POST', '/api/endpoints', { rawBody });
        expect([rawBody, res.status]).toEqual([rawBody, 400]);
      }
    });

    it('accepts a 191-character name and refuses 192 with 400', async () => {
      const t = relay();
      const ok = await t.request<CreatedEndpoint>('POST', '/api/endpoints', {
        body: { name: 'n'.repeat(191) },
      });
      expect(ok.status).toBe(201);
      t.created.add(ok.body.id);
      expect(ok.body.name).toBe('n'.repeat(191));
      const bad = await t.request<ErrorBody>('POST', '/api/endpoints', { body: { name: 'n'.repeat(192) } });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toContain('name');
    });

    it('answers 413 (not 500) for a body over the JSON limit', async () => {
      const res = await relay().request<ErrorBody>('POST', '/api/endpoints', {
        body: { name: 'x', pad: 'p'.repeat(200_000) },
      });
      expect(res.status).toBe(413);
    });

    it('answers 400 when the body is not JSON at all', async () => {
      const res = await relay().request<ErrorBody>('POST', '/api/endpoints', {
        rawBody: 'name=x',
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain('name');
    });

    it('validates limit on alerts and device data (0, 1001, abc, -1, 1.5 -> 400; 1, 1000 and empty ok)', async () => {
      const t = relay();
      const ep = await t.createEndpoint('limits');
      for (const base of [`/api/endpoints/${ep.id}/alerts`, `/api/endpoints/${ep.id}/devices/d1/data`]) {
        for (const limit of ['0', '1001', 'abc', '-1', '1.5', '%20']) {
          const res = await t.request<ErrorBody>('GET', `${base}?limit=${limit}`);
          expect([base, limit, res.status]).toEqual([base, limit, 400]);
          expect(res.body.error).toContain('limit');
        }
        // The contract: an empty `limit=` is the same as no limit (the default, 100), like any
        // other empty query value; device-data.test shows the default in effect.
        for (const limit of ['1', '1000', '']) {
          const res = await t.request('GET', `${base}?limit=${limit}`);
          expect([base, limit, res.status, res.body]).toEqual([base, limit, 200, []]);
        }
      }
    });
  });

  describe('not found', () => {
    it.each([
      ['GET', '/api/endpoints/:id'],
      ['DELETE', '/api/endpoints/:id'],
      ['GET', '/api/endpoints/:id/stats'],
      ['GET', '/api/endpoints/:id/devices/dev/data'],
      ['GET', '/api/endpoints/:id/alert-rules'],
      ['POST', '/api/endpoints/:id/alert-rules'],
      ['DELETE', '/api/endpoints/:id/alert-rules/1'],
      ['GET', '/api/endpoints/:id/alerts'],
    ])('%s %s with an unknown id -> 404', async (method, path) => {
      const body = method === 'POST' ? { field: 'x', operator: '>', threshold: 1 } : undefined;
      const res = await relay().request<ErrorBody>(method, path.replace(':id', randomUUID()), { body });
      expect(res).toMatchObject({ status: 404, body: { error: 'endpoint not found' } });
    });

    it('DELETE of an unknown alert rule on a known endpoint -> 404 naming the rule', async () => {
      const ep = await relay().createEndpoint('rule-404');
      const res = await relay().request<ErrorBody>('DELETE', `/api/endpoints/${ep.id}/alert-rules/999999`);
      expect(res).toMatchObject({ status: 404, body: { error: 'alert rule not found' } });
    });

    it('answers 404 (not 500) for odd ids: very long, unicode, percent-encoded slash', async () => {
      for (const id of ['x'.repeat(500), '🚀✓', 'a%2Fb', '%20']) {
        const res = await relay().request<ErrorBody>('GET', `/api/endpoints/${id}`);
        expect([id, res.status]).toEqual([id, 404]);
        const stats = await relay().request<ErrorBody>('GET', `/api/endpoints/${id}/stats`);
        expect([id, stats.status]).toEqual([id, 404]);
      }
    });

    it('answers 404 JSON for unknown routes', async () => {
      for (const [method, path, auth] of [
        ['GET', '/api/nope', undefined],
        ['PUT', '/api/endpoints', undefined],
        ['GET', '/nope', null],
        ['POST', '/health', null],
      ] as const) {
        const res = await relay().request<ErrorBody>(method, path, { auth });
        expect([method, path, res.status]).toEqual([method, path, 404]);
        expect(res.body.error).toEqual(expect.any(String));
      }
    });
  });
});

/**
 * The 503 path needs a database that is really gone. For MySQL a TCP forwarder sits between
 * the relay and MariaDB; cutting it makes the server unreachable exactly as a network or
 * server failure would. SQLite is an embedded file opened once at start: there is no honest
 * way to make it "unreachable" while the process holds the handle, so it is not tested there.
 */
onMysql('database outage through a TCP forwarder', (mysql) => {
  const target = new URL(MYSQL_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 3306));
  let t: Awaited<ReturnType<typeof startTestRelay>>;
  let ep: CreatedEndpoint;

  beforeAll(async () => {
    requireDb(mysql);
    const port = await proxy.start();
    const url = new URL(MYSQL_URL);
    url.port = String(port);
    t = await startTestRelay(url.toString(), { DB_POOL_SIZE: '2' });
    ep = await t.createEndpoint('outage');
  });
  afterAll(async () => {
    await proxy.stop();
    // Reconnect so the relay can clean up its endpoint, then stop it.
    await proxy.start(proxy.port).catch(() => undefined);
    await t?.stop();
    await proxy.stop();
  });

  it('reports 200 while the database is reachable', async () => {
    expect((await t.request('GET', '/health', { auth: null })).status).toBe(200);
  });

  // Each test cuts the link itself and restores it afterwards, so any order works.
  afterEach(async () => {
    if (!proxy.listening) await proxy.start(proxy.port);
  });

  it('reports 503 (never 500) for /health, /api and the WebSocket upgrade when the database is unreachable', async () => {
    await proxy.stop();
    const timed = async <T>(p: Promise<T>) => {
      const t0 = Date.now();
      const value = await p;
      return { value, ms: Date.now() - t0 };
    };
    const [health, api, ws] = await Promise.all([
      timed(t.request<{ status: string; db: string }>('GET', '/health', { auth: null })),
      timed(t.request<ErrorBody>('GET', `/api/endpoints/${ep.id}`)),
      timed(expectRefused(t.wsUrl(ep.id, ep.token))),
    ]);
    expect(health.value.status).toBe(503);
    expect(health.value.body).toMatchObject({ status: 'degraded', db: 'down' });
    // /health bounds its DB ping (2 s); it must not hang for the pool's full acquire timeout.
    expect(health.ms).toBeLessThan(3500);
    expect(api.value.status).toBe(503);
    expect(api.value.body.error).toMatch(/database/i);
    expect(ws.value.status).toBe(503);
  });

  it('recovers once the database is back', async () => {
    await proxy.stop();
    expect((await t.request('GET', '/health', { auth: null })).status).toBe(503);
    await proxy.start(proxy.port);
    const deadline = Date.now() + 10000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await t.request('GET', '/health', { auth: null })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect((await t.request('GET', `/api/endpoints/${ep.id}`)).status).toBe(200);
  });
});
