import type net from 'node:net';
import type WebSocket from 'ws';
import { DISCONNECT_REASONS, type DisconnectReason } from '../src/monitoring/metrics';
import { parsePrometheus, type Sample } from '../../runner/prometheus';
import { tempSqliteUrl } from './helpers/databases';
import { startTestRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

/*
 * Metric labels stay bounded and disconnects are counted once each, with one reason. One SQLite
 * relay: what is counted here happens before any database write, the same on every database.
 */

const HEARTBEAT_MS = 200;
const MAX_PAYLOAD = 8192;
/** Three 4,000-byte frames (4,004 on the wire each) take a corked socket over 10,000 bytes. */
const MAX_BUFFERED = 10_000;
const FRAME = Buffer.alloc(4000, 7);

const tcp = (ws: WebSocket) => (ws as unknown as { _socket: net.Socket })._socket;
const samplesOf = async (t: TestRelay) => parsePrometheus(await t.metricsText());
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

function disconnectsIn(samples: Sample[]): Record<DisconnectReason, number> {
  const out = {} as Record<DisconnectReason, number>;
  for (const reason of DISCONNECT_REASONS) {
    const s = samples.find((x) => x.name === 'relay_disconnects_total' && x.labels.reason === reason);
    // A missing reason must fail, not read as 0.
    if (!s) throw new Error(`relay_disconnects_total{reason="${reason}"} missing`);
    out[reason] = s.value;
  }
  return out;
}

/**
 * Every socket the relay accepted is either open or counted under exactly one reason:
 * opened - sum(disconnects) = relay_connections, at any scrape.
 */
function expectBalanced(samples: Sample[]): void {
  const gone = Object.values(disconnectsIn(samples)).reduce((a, b) => a + b, 0);
  expect(value(samples, 'relay_connections_opened_total') - gone).toBe(value(samples, 'relay_connections'));
}

describe('relay_disconnects_total{reason}', () => {
  let t: TestRelay;
  let clients: Client[] = [];
  beforeAll(async () => {
    t = await startTestRelay(tempSqliteUrl('labels'), {
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
      WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD),
      WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
    });
  });
  afterAll(() => t.stop());
  afterEach(async () => {
    for (const c of clients) tcp(c.ws)?.resume();
    await closeAll(clients);
    clients = [];
    // Every socket of the test is gone from the relay before the next one takes its baseline.
    await eventually(
      async () => [...t.relay.connections.sockets()].length,
      (n) => n === 0,
      { what: 'no sockets left' },
    );
  });

  /** Connects `label` and returns its client plus the relay's socket for it. */
  async function join(ep: CreatedEndpoint, label: string, opts: WebSocket.ClientOptions = {}) {
    const before = new Set(t.relay.connections.sockets());
    const client = await connect(t.wsUrl(ep.id, ep.token), opts, label);
    clients.push(client);
    const added = await eventually(
      async () => [...t.relay.connections.sockets()].filter((s) => !before.has(s)),
      (a) => a.length === 1,
      { what: `relay socket for ${label}` },
    );
    return { client, server: added[0] };
  }

  /** Waits until the relay holds `n` sockets of `ep`, then checks the reason deltas exactly. */
  async function expectDisconnects(
    ep: CreatedEndpoint,
    open: number,
    before: Record<DisconnectReason, number>,
    expected: Partial<Record<DisconnectReason, number>>,
  ) {
    await eventually(
      async () => t.relay.connections.count(ep.id),
      (n) => n === open,
      { what: `${open} socket(s) left` },
    );
    const samples = await samplesOf(t);
    const after = disconnectsIn(samples);
    const deltas = Object.fromEntries(DISCONNECT_REASONS.map((r) => [r, after[r] - before[r]]));
    const want = Object.fromEntries(DISCONNECT_REASONS.map((r) => [r, expected[r] ?? 0]));
    expect(deltas).toEqual(want);
    expectBalanced(samples);
  }

  it('client_close: a close handshake and a dropped TCP connection count once each', async () => {
    const ep = await t.createEndpoint('close');
    const a = await join(ep, 'a');
    const b = await join(ep, 'b');
    await join(ep, 'stays');
    const before = disconnectsIn(await samplesOf(t));
    await a.client.close();
    // No close frame at all: the client's TCP connection just goes.
    tcp(b.client.ws).destroy();
    await expectDisconnects(ep, 1, before, { client_close: 2 });
  });

  it('heartbeat: a client that stops answering pings is counted as heartbeat, not client_close', async () => {
    const ep = await t.createEndpoint('hb');
    await join(ep, 'alive');
    const before = disconnectsIn(await samplesOf(t));
    const mute = await join(ep, 'mute', { autoPong: false });
    expect((await mute.client.waitClosed(HEARTBEAT_MS * 20)).code).toBe(1006);
    await expectDisconnects(ep, 1, before, { heartbeat: 1 });
  });

  it('slow_consumer: the frame that takes a corked socket over the cap drops it, counted once', async () => {
    const ep = await t.createEndpoint('slow');
    const reader = await join(ep, 'reader');
    const slow = await join(ep, 'slow');
    const sender = await join(ep, 'sender');
    const before = disconnectsIn(await samplesOf(t));
    tcp(slow.server).cork();
    for (let i = 1; i <= 3; i++) {
      await sender.client.send(FRAME);
      await reader.client.waitForCount(i);
    }
    await expectDisconnects(ep, 2, before, { slow_consumer: 1 });
    // Its later 'close' (the relay terminated it) adds nothing.
    await eventually(
      async () => slow.server.readyState,
      (s) => s === slow.server.CLOSED,
      { what: 'relay socket closed' },
    );
    await expectDisconnects(ep, 2, before, { slow_consumer: 1 });
  });

  it('endpoint_deleted: every socket of a deleted endpoint, counted when deleted and not again at close', async () => {
    const ep = await t.createEndpoint('del');
    const other = await t.createEndpoint('other');
    const mine = [await join(ep, 'a'), await join(ep, 'b')];
    await join(other, 'elsewhere');
    const before = disconnectsIn(await samplesOf(t));
    expect((await t.request('DELETE', `/api/endpoints/${ep.id}`)).status).toBe(204);
    for (const m of mine) expect((await m.client.waitClosed()).code).toBe(4404);
    await expectDisconnects(ep, 0, before, { endpoint_deleted: 2 });
    expect(t.relay.connections.count(other.id)).toBe(1);
  });

  it('protocol_error: a frame over WS_MAX_PAYLOAD_BYTES closes with 1009, counted as protocol_error', async () => {
    const ep = await t.createEndpoint('big');
    await join(ep, 'peer');
    const big = await join(ep, 'big');
    const before = disconnectsIn(await samplesOf(t));
    await big.client.send(Buffer.alloc(MAX_PAYLOAD + 1));
    expect((await big.client.waitClosed()).code).toBe(1009);
    await expectDisconnects(ep, 1, before, { protocol_error: 1 });
    // The largest allowed frame is no error.
    const ok = await join(ep, 'ok');
    const before2 = disconnectsIn(await samplesOf(t));
    await ok.client.send(Buffer.alloc(MAX_PAYLOAD));
    await clients[0].waitForCount(1);
    expect(ok.client.isOpen).toBe(true);
    await expectDisconnects(ep, 2, before2, {});
  });
});

test('server_shutdown: relay.stop() counts every open socket once as server_shutdown', async () => {
  const t = await startTestRelay(tempSqliteUrl('labels-stop'));
  const ep = await t.createEndpoint('stop');
  const clients = [await connect(t.wsUrl(ep.id, ep.token)), await connect(t.wsUrl(ep.id, ep.token))];
  await eventually(
    async () => t.relay.connections.count(ep.id),
    (n) => n === 2,
    { what: 'two sockets' },
  );
  const before = disconnectsIn(await samplesOf(t));
  await t.relay.stop();
  for (const c of clients) expect((await c.waitClosed()).code).toBe(1001);
  // The listener is gone: read the registry in-process.
  const samples = parsePrometheus(await t.relay.metrics.render());
  const after = disconnectsIn(samples);
  expect(Object.fromEntries(DISCONNECT_REASONS.map((r) => [r, after[r] - before[r]]))).toEqual(
    Object.fromEntries(DISCONNECT_REASONS.map((r) => [r, r === 'server_shutdown' ? 2 : 0])),
  );
  expectBalanced(samples);
  expect(value(samples, 'relay_connections')).toBe(0);
});

describe('connection gauges', () => {
  async function withRelay(env: Record<string, string>, body: (t: TestRelay) => Promise<void>) {
    const t = await startTestRelay(tempSqliteUrl('gauges'), env);
    try {
      await body(t);
    } finally {
      // Deleting its endpoints closes any socket a failed test left open.
      await t.stop();
    }
  }

  /** Opens `perEndpoint[i]` sockets on endpoint i; returns the endpoints and clients. */
  async function open(t: TestRelay, perEndpoint: number[]) {
    const eps: CreatedEndpoint[] = [];
    const clients: Client[] = [];
    for (const n of perEndpoint) {
      const ep = await t.createEndpoint('g');
      eps.push(ep);
      for (let i = 0; i < n; i++) clients.push(await connect(t.wsUrl(ep.id, ep.token)));
    }
    const total = perEndpoint.reduce((a, b) => a + b, 0);
    await eventually(
      async () => [...t.relay.connections.sockets()].length,
      (n) => n === total,
      { what: `${total} sockets` },
    );
    return { eps, clients };
  }

  test('by default: one unlabelled relay_connections total, whatever the number of endpoints', () =>
    withRelay({}, async (t) => {
      const { clients } = await open(t, [1, 2, 3]);
      const samples = await samplesOf(t);
      const series = samples.filter((s) => s.name === 'relay_connections');
      expect(series).toEqual([{ name: 'relay_connections', labels: {}, value: 6 }]);
      expect(samples.some((s) => s.name === 'relay_endpoint_connections')).toBe(false);
      expect(await t.metricsText()).not.toMatch(/endpoint="/);
      await closeAll(clients);
    }));

  test('METRICS_PER_ENDPOINT=1 adds relay_endpoint_connections{endpoint}; an endpoint with no socket left has no series', () =>
    withRelay({ METRICS_PER_ENDPOINT: '1' }, async (t) => {
      const { eps, clients } = await open(t, [1, 2]);
      let samples = await samplesOf(t);
      expect(value(samples, 'relay_connections')).toBe(3);
      const perEndpoint = () =>
        Object.fromEntries(
          samples
            .filter((s) => s.name === 'relay_endpoint_connections')
            .map((s) => [s.labels.endpoint, s.value]),
        );
      expect(perEndpoint()).toEqual({ [eps[0].id]: 1, [eps[1].id]: 2 });
      await clients[0].close();
      await eventually(
        async () => t.relay.connections.count(eps[0].id),
        (n) => n === 0,
        { what: 'first endpoint empty' },
      );
      samples = await samplesOf(t);
      expect(perEndpoint()).toEqual({ [eps[1].id]: 2 });
      expect(value(samples, 'relay_connections')).toBe(2);
      await closeAll(clients);
    }));
});

describe('relay_http_requests_total / relay_http_request_duration_seconds', () => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startTestRelay(tempSqliteUrl('http'));
  });
  afterAll(() => t.stop());

  const requests = (samples: Sample[], labels: Record<string, string>) =>
    value(samples, 'relay_http_requests_total', labels);
  /** Every series of the HTTP metrics, as `name{labels}` keys. */
  const httpSeries = (samples: Sample[]) =>
    samples
      .filter((s) => s.name.startsWith('relay_http_'))
      .map((s) => `${s.name}${JSON.stringify(s.labels)}`)
      .sort();

  test('labels each request with its route pattern, on success and on error, and unknown paths as unmatched', async () => {
    const ep = await t.createEndpoint('http');
    const before = await samplesOf(t);
    expect((await t.request('GET', `/api/endpoints/${ep.id}/stats`)).status).toBe(200);
    expect((await t.request('GET', '/api/endpoints/no-such-id/stats')).status).toBe(404);
    expect((await t.request('GET', `/api/endpoints/${ep.id}`)).status).toBe(200);
    expect((await t.request('GET', '/api/endpoints')).status).toBe(200);
    expect((await t.request('GET', '/api/endpoints', { auth: null })).status).toBe(401);
    expect((await t.request('GET', '/livez')).status).toBe(200);
    expect((await t.request('GET', '/readyz')).status).toBe(200);
    expect((await t.request('GET', '/no/such/path')).status).toBe(404);
    expect((await t.request('PROPFIND', '/api/endpoints')).status).toBe(404);
    const after = await samplesOf(t);
    const d = (labels: Record<string, string>) => requests(after, labels) - requests(before, labels);

    expect(d({ method: 'GET', route: '/api/endpoints/:id/stats', status: '200' })).toBe(1);
    // The 404 is answered by the app-level error handler, outside the /api router.
    expect(d({ method: 'GET', route: '/api/endpoints/:id/stats', status: '404' })).toBe(1);
    expect(d({ method: 'GET', route: '/api/endpoints/:id', status: '200' })).toBe(1);
    expect(d({ method: 'GET', route: '/api/endpoints', status: '200' })).toBe(1);
    // Refused before any route matched.
    expect(d({ method: 'GET', route: 'unmatched', status: '401' })).toBe(1);
    expect(d({ method: 'GET', route: '/livez', status: '200' })).toBe(1);
    expect(d({ method: 'GET', route: '/readyz', status: '200' })).toBe(1);
    expect(d({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    // Methods outside the usual set share one label.
    expect(d({ method: 'other', route: 'unmatched', status: '404' })).toBe(1);
    // The scrape that produced `before` was counted by the time `after` was taken.
    expect(d({ method: 'GET', route: '/metrics', status: '200' })).toBe(1);
    // Nine requests timed, plus that scrape.
    expect(
      value(after, 'relay_http_request_duration_seconds_count') -
        value(before, 'relay_http_request_duration_seconds_count'),
    ).toBe(10);
    // No label anywhere carries a URL's variable part.
    for (const s of after.filter((x) => x.name.startsWith('relay_http_'))) {
      expect(s.labels.route ?? '').not.toMatch(new RegExp(`${ep.id}|no-such|/no/`));
    }
  });

  test('1,000 distinct unknown URLs and 1,000 distinct endpoint ids create no new series', async () => {
    // Warm-up: the series these requests land in exist before the baseline, and so does the
    // /metrics route's own (a scrape is counted after its answer, so the first one adds it).
    await t.request('GET', '/unknown-warm-up');
    await t.request('GET', '/api/endpoints/warm-up/stats');
    await samplesOf(t);
    const before = await samplesOf(t);
    const N = 1000;
    const paths = [
      ...Array.from({ length: N }, (_, i) => `/unknown-${i}/x${i}?q=${i}`),
      ...Array.from({ length: N }, (_, i) => `/api/endpoints/id-${i}/stats`),
    ];
    // A few at a time: the point is many distinct URLs, not concurrency.
    for (let i = 0; i < paths.length; i += 20) {
      const statuses = await Promise.all(paths.slice(i, i + 20).map((p) => t.request('GET', p)));
      for (const r of statuses) expect(r.status).toBe(404);
    }
    const after = await samplesOf(t);
    expect(httpSeries(after)).toEqual(httpSeries(before));
    const d = (labels: Record<string, string>) => requests(after, labels) - requests(before, labels);
    expect(d({ method: 'GET', route: 'unmatched', status: '404' })).toBe(N);
    expect(d({ method: 'GET', route: '/api/endpoints/:id/stats', status: '404' })).toBe(N);
  });
});
