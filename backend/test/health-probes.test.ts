import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type WebSocket from 'ws';
import { eachDb, requireDb, tempSqliteUrl } from './helpers/databases';
import { dbOutage, type DbOutage } from './helpers/db-outage';
import { freePort, spawnRelay, waitHealthy, within } from './helpers/process';
import { startTestRelay, type TestRelay } from './helpers/relay';
import { connect, eventually, expectRefused } from './helpers/ws';

/*
 * /livez: the process answers. /readyz: it should get traffic (every readiness check passes and
 * it is not shutting down). Both are public: probes carry no key.
 */

interface Probe {
  status: number;
  body: { status: string; checks?: Record<string, string> };
}

async function probe(port: number, path: '/livez' | '/readyz'): Promise<Probe> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as Probe['body'] };
}

const tcp = (ws: WebSocket) => (ws as unknown as { _socket: net.Socket })._socket;

eachDb('/livez and /readyz', (db) => {
  let outage: DbOutage;
  let t: TestRelay;
  beforeAll(async () => {
    requireDb(db);
    outage = await dbOutage(db);
    t = await startTestRelay(outage.url, outage.env);
  });
  afterAll(async () => {
    await outage?.end();
    await t?.stop();
    await outage?.close();
  });

  it('both answer 200 without an API key while the database is up, naming each check', async () => {
    expect(await probe(t.port, '/livez')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await probe(t.port, '/readyz')).toEqual({
      status: 200,
      body: { status: 'ready', checks: { database: 'up' } },
    });
  });

  it('database down: /readyz 503 naming the database check, /livez still 200; ready again once it is back', async () => {
    await outage.begin();
    try {
      const ready = await probe(t.port, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('not_ready');
      expect(Object.keys(ready.body.checks ?? {})).toEqual(['database']);
      // What the driver said, not Prisma's preamble.
      expect(ready.body.checks?.database).toMatch(/^down: \S/);
      expect(ready.body.checks?.database).not.toMatch(/Invalid `/);
      expect(await probe(t.port, '/livez')).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      await outage.end();
    }
    // The pool reconnects on its own; no restart.
    await eventually(
      () => probe(t.port, '/readyz'),
      (p) => p.status === 200,
      { timeoutMs: 20_000, intervalMs: 200, what: '/readyz 200 after the outage' },
    );
  });
});

describe('readiness checks the relay is given', () => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startTestRelay(tempSqliteUrl('readyz-checks'));
  });
  afterAll(() => t.stop());

  it('a failing added check (the hook a Redis bus uses) makes /readyz 503 and names it; the others stay up', async () => {
    const checks = t.relay.readiness.checks;
    checks.push({
      name: 'redis',
      check: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6390\nstack...')),
    });
    try {
      expect(await probe(t.port, '/readyz')).toEqual({
        status: 503,
        body: {
          status: 'not_ready',
          checks: { database: 'up', redis: 'down: connect ECONNREFUSED 127.0.0.1:6390' },
        },
      });
      expect((await probe(t.port, '/livez')).status).toBe(200);
    } finally {
      checks.pop();
    }
    expect((await probe(t.port, '/readyz')).status).toBe(200);
  });

  it('a check that never answers fails by timeout instead of hanging the probe', async () => {
    const checks = t.relay.readiness.checks;
    checks.push({ name: 'stuck', check: () => new Promise<void>(() => undefined) });
    try {
      const ready = await probe(t.port, '/readyz');
      expect(ready).toEqual({
        status: 503,
        body: { status: 'not_ready', checks: { database: 'up', stuck: 'down: timeout after 2000 ms' } },
      });
    } finally {
      checks.pop();
    }
  });
});

test('relay.stop(): /readyz turns 503 before the sockets close, /livez stays 200, new sockets are refused', async () => {
  const t = await startTestRelay(tempSqliteUrl('readyz-drain'));
  const ep = await t.createEndpoint('drain');
  const polite = await connect(t.wsUrl(ep.id, ep.token), {}, 'polite');
  const deaf = await connect(t.wsUrl(ep.id, ep.token), {}, 'deaf');
  await eventually(
    async () => t.relay.connections.count(ep.id),
    (n) => n === 2,
    { what: 'two sockets' },
  );
  expect((await probe(t.port, '/readyz')).status).toBe(200);
  // It never reads the close frame, so the drain waits for it (3 s, then terminate).
  tcp(deaf.ws).pause();

  const port = t.port;
  const stopped = t.relay.stop();
  // stop() flips readiness before its first await: the very next probe sees it.
  expect(t.relay.readiness.shuttingDown).toBe(true);
  const ready = await probe(t.port, '/readyz');
  expect(ready).toEqual({ status: 503, body: { status: 'shutting_down', checks: {} } });
  expect(await probe(t.port, '/livez')).toEqual({ status: 200, body: { status: 'ok' } });
  expect((await expectRefused(t.wsUrl(ep.id, ep.token))).status).toBe(503);
  // Still draining: the deaf client's socket is held open.
  expect(t.relay.connections.count(ep.id)).toBeGreaterThan(0);

  expect((await polite.waitClosed()).code).toBe(1001);
  tcp(deaf.ws).resume();
  await stopped;
  // Once stopped, nothing listens.
  await expect(fetch(`http://127.0.0.1:${port}/livez`)).rejects.toThrow(/fetch failed/);
});

/** Completes a WebSocket upgrade by hand, then never reads or answers anything. */
async function deafUpgrade(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve) =>
    socket.once('data', (c: Buffer) => resolve(c.toString())),
  );
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head.split('\r\n')[0]}`);
  socket.pause();
  return socket;
}

test('SIGTERM to the real entry point: /readyz 503 during the drain, /livez 200, then exit 0', async () => {
  const port = await freePort();
  const apiKey = `probe-key-${randomBytes(12).toString('hex')}`;
  const proc = spawnRelay({
    PORT: String(port),
    HOST: '127.0.0.1',
    API_KEY: apiKey,
    DATABASE_URL: tempSqliteUrl('readyz-sigterm'),
  });
  let deaf: net.Socket | undefined;
  try {
    await waitHealthy(port, proc);
    const created = await fetch(`http://127.0.0.1:${port}/api/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sigterm' }),
    });
    const ep = (await created.json()) as { id: string; token: string };
    deaf = await deafUpgrade(port, `/ws/${ep.id}?token=${encodeURIComponent(ep.token)}`);
    expect((await probe(port, '/readyz')).status).toBe(200);

    proc.child.kill('SIGTERM');
    // The deaf socket holds the drain open for up to 3 s; readiness flips as soon as the signal lands.
    const ready = await eventually(
      () => probe(port, '/readyz'),
      (p) => p.status !== 200,
      { intervalMs: 10, what: '/readyz to leave 200' },
    );
    expect(ready).toEqual({ status: 503, body: { status: 'shutting_down', checks: {} } });
    expect(await probe(port, '/livez')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await within(proc.exited, 10_000, 'relay did not exit')).toEqual({ code: 0, signal: null });
  } finally {
    deaf?.destroy();
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  }
});
