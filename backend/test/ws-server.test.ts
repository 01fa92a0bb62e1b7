import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import type { Bus } from '../src/bus/bus';
import { logger } from '../src/logger';
import { RelayCounters } from '../src/monitoring/metrics';
import type { EndpointService } from '../src/services/endpoint.service';
import type { StatsStore } from '../src/services/stats/stats-store';
import { ConnectionManager } from '../src/websocket/connection-manager';
import type { MessageRouter } from '../src/websocket/message-router';
import { RelayWsServer } from '../src/websocket/server';
import { closeAll, connect, eventually, expectRefused, sleep, type Client } from './helpers/ws';

/*
 * RelayWsServer on a bare HTTP server with recording fakes for what sits behind it (token
 * check, stats, bus, router): every refusal's status and body, the counters, the bus's join /
 * leave pairing, each disconnect reason, and the drain. The relay-level suites (ws-auth,
 * bad-input, shutdown, heartbeat) cover the same paths with a database behind them.
 */

const TOKEN = 'secret-token';
const MAX_PAYLOAD = 64;

interface Harness {
  url: string;
  port: number;
  counters: RelayCounters;
  connections: ConnectionManager;
  ws: RelayWsServer;
  routed: { endpointId: string; data: string; isBinary: boolean }[];
  stats: { connects: string[]; disconnects: string[] };
  bus: { joins: string[]; leaves: string[]; joinDelayMs: number };
  /** endpoint ids whose token check has started, in order */
  tokenChecks: string[];
  close(): Promise<void>;
}

async function harness(opts: { heartbeatIntervalMs?: number } = {}): Promise<Harness> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const counters = new RelayCounters();
  const connections = new ConnectionManager();
  const routed: Harness['routed'] = [];
  const statsLog = { connects: [] as string[], disconnects: [] as string[] };
  const busLog = { joins: [] as string[], leaves: [] as string[], joinDelayMs: 0 };
  const tokenChecks: string[] = [];
  const endpoints = {
    checkToken: async (id: string, token: string | undefined) => {
      tokenChecks.push(id);
      if (id === 'db-down') throw new Error('connect ECONNREFUSED');
      // A token check that takes a while: the client can leave before it is answered.
      if (id === 'slow') {
        await new Promise((r) => setTimeout(r, 300));
        return 'unknown-endpoint';
      }
      if (!id.startsWith('ep')) return 'unknown-endpoint';
      return token === TOKEN ? 'ok' : 'bad-token';
    },
  } as unknown as EndpointService;
  const stats = {
    recordConnect: (id: string) => void statsLog.connects.push(id),
    recordDisconnect: (id: string) => void statsLog.disconnects.push(id),
  } as unknown as StatsStore;
  const bus = {
    nodeId: 'node-test',
    join: async (id: string) => {
      busLog.joins.push(id);
      if (busLog.joinDelayMs) await new Promise((r) => setTimeout(r, busLog.joinDelayMs));
    },
    leave: (id: string) => void busLog.leaves.push(id),
  } as unknown as Bus;
  const router = {
    route: (endpointId: string, _ws: WebSocket, data: Buffer, isBinary: boolean) =>
      void routed.push({ endpointId, data: data.toString(), isBinary }),
  } as unknown as MessageRouter;
  const ws = new RelayWsServer({
    server,
    connections,
    bus,
    router,
    endpoints,
    stats,
    counters,
    maxPayload: MAX_PAYLOAD,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 3_600_000,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    counters,
    connections,
    ws,
    routed,
    stats: statsLog,
    bus: busLog,
    tokenChecks,
    async close() {
      ws.heartbeat.stop();
      for (const s of connections.sockets()) s.terminate();
      ws.wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A WebSocket upgrade request for `path`, as a client writes it on the TCP socket. */
function upgradeRequest(path: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
  );
}

/** Raw upgrade request; resolves with everything the server wrote before closing, as text. */
function rawUpgrade(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(upgradeRequest(path)));
    let out = '';
    socket.on('data', (b) => (out += b.toString('latin1')));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

/** A raw client that completes the upgrade and then ignores every frame (no pong, no close reply). */
function mutePeer(
  port: number,
  path = `/ws/ep1?token=${TOKEN}`,
): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1', () => socket.write(upgradeRequest(path)));
  socket.on('error', () => undefined);
  // Reading (and dropping) what arrives, so the server's FIN is seen and 'close' fires.
  socket.resume();
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return { socket, closed };
}

/** A mute peer on ep1 (mutePeer), once the relay has pooled it. */
async function pooledMutePeer(h: Harness): Promise<ReturnType<typeof mutePeer>> {
  const peer = mutePeer(h.port);
  await eventually(
    async () => h.connections.count('ep1'),
    (n) => n === 1,
    { what: 'mute peer pooled' },
  );
  return peer;
}

describe('RelayWsServer', () => {
  let h: Harness;
  let clients: Client[] = [];
  let errors: jest.SpyInstance;
  beforeEach(async () => {
    errors = jest.spyOn(logger, 'error').mockImplementation(() => logger);
    h = await harness();
  });
  afterEach(async () => {
    await closeAll(clients);
    clients = [];
    await h.close();
    jest.restoreAllMocks();
  });

  test.each([
    ['/elsewhere', 404, 'unknown path; connect to /ws/<endpointId>'],
    ['/ws/ep1/extra', 404, 'unknown path; connect to /ws/<endpointId>'],
    ['/x/ws/ep1?token=' + TOKEN, 404, 'unknown path; connect to /ws/<endpointId>'],
    ['/ws/%E0%A4%A', 400, 'malformed endpoint id'],
    ['/ws/nope?token=' + TOKEN, 404, 'endpoint not found'],
    ['/ws/ep1', 401, 'missing or invalid token'],
    ['/ws/ep1?token=wrong', 401, 'missing or invalid token'],
    ['/ws/db-down?token=' + TOKEN, 503, 'database unavailable'],
  ])('upgrade to %s is refused with %i and a JSON reason', async (path, status, message) => {
    const res = await expectRefused(h.url + path);
    expect(res).toEqual({ status, body: JSON.stringify({ error: message }) });
    expect(h.counters.connectionsRefused).toBe(1);
    expect(h.counters.connectionsOpened).toBe(0);
    expect(h.bus.joins).toEqual([]);
  });

  test('a refusal is a complete HTTP response that closes the connection', async () => {
    const text = await rawUpgrade(h.port, '/ws/ep1');
    const body = JSON.stringify({ error: 'missing or invalid token' });
    expect(text).toBe(
      'HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });

  test('a database failure during the token check is logged and answered 503', async () => {
    await expectRefused(`${h.url}/ws/db-down?token=${TOKEN}`);
    expect(errors).toHaveBeenCalledWith('upgrade refused: database unavailable', {
      error: 'connect ECONNREFUSED',
    });
  });

  test('the token is taken from the query, else from a Bearer Authorization header', async () => {
    clients.push(await connect(`${h.url}/ws/ep1?token=${TOKEN}`));
    clients.push(await connect(`${h.url}/ws/ep1`, { headers: { Authorization: `Bearer ${TOKEN}` } }));
    const wrongScheme = await expectRefused(`${h.url}/ws/ep1`, {
      headers: { Authorization: `Basic ${TOKEN}` },
    });
    expect(wrongScheme.status).toBe(401);
    // Another scheme of Bearer's length: the token is not read from whatever follows 7 characters.
    const sameLength = await expectRefused(`${h.url}/ws/ep1`, {
      headers: { Authorization: `Digest ${TOKEN}` },
    });
    expect(sameLength.status).toBe(401);
    // An empty query token falls back to the header.
    clients.push(await connect(`${h.url}/ws/ep1?token=`, { headers: { Authorization: `Bearer ${TOKEN}` } }));
    // The scheme is case-insensitive (RFC 7235).
    clients.push(await connect(`${h.url}/ws/ep1`, { headers: { Authorization: `bearer ${TOKEN}` } }));
    expect(h.counters.connectionsOpened).toBe(4);
    expect(h.connections.count('ep1')).toBe(4);
  });

  test('an accepted socket: counted, joined once, its frames routed, its close recorded once', async () => {
    const c = await connect(`${h.url}/ws/ep%201/?token=${TOKEN}`);
    expect(h.counters.connectionsOpened).toBe(1);
    expect(h.stats.connects).toEqual(['ep 1']);
    expect(h.bus.joins).toEqual(['ep 1']);
    await c.send('text frame');
    await c.send(Buffer.from([1, 2, 3]), true);
    await eventually(
      async () => h.routed.length,
      (n) => n === 2,
      { what: 'two frames routed' },
    );
    expect(h.routed).toEqual([
      { endpointId: 'ep 1', data: 'text frame', isBinary: false },
      { endpointId: 'ep 1', data: '\u0001\u0002\u0003', isBinary: true },
    ]);
    await c.close();
    await eventually(
      async () => h.counters.disconnects.client_close,
      (n) => n === 1,
      { what: 'client_close counted' },
    );
    expect(h.stats.disconnects).toEqual(['ep 1']);
    expect(h.bus.leaves).toEqual(['ep 1']);
    expect(h.connections.count('ep 1')).toBe(0);
  });

  test('the upgrade response names the process that accepted the socket', async () => {
    const { socket } = mutePeer(h.port);
    const text = await new Promise<string>((resolve) =>
      socket.once('data', (b: Buffer) => resolve(b.toString('latin1'))),
    );
    socket.destroy();
    expect(text.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true);
    expect(text).toContain('\r\nX-Relay-Node: node-test\r\n');
  });

  test('a frame over the payload limit closes the socket and is counted as protocol_error', async () => {
    const c = await connect(`${h.url}/ws/ep1?token=${TOKEN}`);
    clients.push(c);
    c.ws.send(Buffer.alloc(MAX_PAYLOAD + 1));
    expect((await c.waitClosed()).code).toBe(1009);
    await eventually(
      async () => h.counters.disconnects.protocol_error,
      (n) => n === 1,
      { what: 'protocol_error counted' },
    );
    expect(h.counters.disconnects.client_close).toBe(0);
    expect(h.routed).toEqual([]);
  });

  test('a client gone while the bus subscribes is never pooled, and the join is matched by a leave', async () => {
    h.bus.joinDelayMs = 200;
    const { socket } = mutePeer(h.port);
    await eventually(
      async () => h.bus.joins.length,
      (n) => n === 1,
      { what: 'join started' },
    );
    socket.destroy();
    await eventually(
      async () => h.bus.leaves.length,
      (n) => n === 1,
      { what: 'matching leave' },
    );
    expect(h.counters.connectionsOpened).toBe(0);
    expect(h.connections.count('ep1')).toBe(0);
    expect(h.stats.connects).toEqual([]);
  });

  test('an endpoint deleted while its upgrade was authorised: closed with 4404, the join left', async () => {
    h.bus.joinDelayMs = 100;
    const pending = connect(`${h.url}/ws/ep1?token=${TOKEN}`);
    await eventually(
      async () => h.bus.joins.length,
      (n) => n === 1,
      { what: 'join started' },
    );
    h.connections.closeEndpoint('ep1', 4404, 'endpoint deleted');
    const c = await pending;
    clients.push(c);
    expect(await c.waitClosed()).toEqual({ code: 4404, reason: 'endpoint deleted' });
    expect(h.bus.leaves).toEqual(['ep1']);
    expect(h.counters.connectionsOpened).toBe(0);
    expect(h.stats.connects).toEqual([]);
  });

  test('closeAll: every socket closed with the code, counted as server_shutdown, later upgrades refused with 503', async () => {
    for (let i = 0; i < 3; i++) clients.push(await connect(`${h.url}/ws/ep${i % 2}?token=${TOKEN}`));
    // closeAll resolves when the peers have closed, not at its deadline: the deadline is far
    // past the 5 s allowed here (and short enough that a regression fails instead of hanging).
    const closed = h.ws.closeAll(1001, 'server shutting down', 25_000).then(() => 'closed');
    expect(await Promise.race([closed, sleep(5_000).then(() => 'waited for the deadline')])).toBe('closed');
    for (const c of clients)
      expect(await c.waitClosed()).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(h.counters.disconnects.server_shutdown).toBe(3);
    expect(h.counters.disconnects.client_close).toBe(0);
    expect(h.stats.disconnects.sort()).toEqual(['ep0', 'ep0', 'ep1']);
    const after = await expectRefused(`${h.url}/ws/ep0?token=${TOKEN}`);
    expect(after).toEqual({ status: 503, body: JSON.stringify({ error: 'server shutting down' }) });
  });

  test('closeAll terminates a peer that never answers the close handshake once the timeout passes', async () => {
    const peer = await pooledMutePeer(h);
    const started = Date.now();
    await h.ws.closeAll(1001, 'bye', 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await peer.closed;
    expect(h.counters.disconnects.server_shutdown).toBe(1);
    expect(h.connections.count('ep1')).toBe(0);
  });

  test('the first reason to end a socket is the one counted: a frame over the limit during the drain stays server_shutdown', async () => {
    const peer = await pooledMutePeer(h);
    const drained = h.ws.closeAll(1001, 'bye', 2_000);
    // The peer ignores the close frame and sends a masked binary frame announcing 200 bytes,
    // over the 64-byte limit: ws refuses it (1009) on the header, a second reason to end it.
    peer.socket.write(Buffer.from([0x82, 0x80 | 126, 0, 200, 1, 2, 3, 4]));
    await drained;
    await peer.closed;
    expect(h.counters.disconnects.server_shutdown).toBe(1);
    expect(h.counters.disconnects.protocol_error).toBe(0);
    expect(h.stats.disconnects).toEqual(['ep1']);
  });

  test('a client that resets before its refusal is answered: counted, nothing thrown, the next upgrade served', async () => {
    const socket = net.connect(h.port, '127.0.0.1', () => socket.write(upgradeRequest('/ws/slow')));
    socket.on('error', () => undefined);
    // Reset while the token check (300 ms) is still running: the refusal meets a dead socket.
    await eventually(
      async () => h.tokenChecks,
      (ids) => ids.includes('slow'),
      { what: 'token check started' },
    );
    socket.resetAndDestroy();
    await eventually(
      async () => h.counters.connectionsRefused,
      (n) => n === 1,
      { what: 'refusal counted' },
    );
    const res = await expectRefused(`${h.url}/ws/slow`);
    expect(res).toEqual({ status: 404, body: JSON.stringify({ error: 'endpoint not found' }) });
    clients.push(await connect(`${h.url}/ws/ep1?token=${TOKEN}`));
    expect(h.counters.connectionsRefused).toBe(2);
    expect(h.counters.connectionsOpened).toBe(1);
  });

  test('a socket authorised while the drain waits for peers is closed with 1001 and counted as refused', async () => {
    const peer = await pooledMutePeer(h);
    h.bus.joinDelayMs = 150;
    const pending = connect(`${h.url}/ws/ep2?token=${TOKEN}`);
    await eventually(
      async () => h.bus.joins.length,
      (n) => n === 2,
      { what: 'second join started' },
    );
    const drained = h.ws.closeAll(1001, 'server shutting down', 600);
    const c = await pending;
    clients.push(c);
    expect(await c.waitClosed()).toEqual({ code: 1001, reason: 'server shutting down' });
    await drained;
    await peer.closed;
    expect(h.counters.connectionsRefused).toBe(1);
    expect(h.counters.connectionsOpened).toBe(1);
    expect(h.stats.connects).toEqual(['ep1']);
  });

  test('an upgrade still subscribing when the drain has finished is refused, and its join left', async () => {
    h.bus.joinDelayMs = 150;
    const refused = expectRefused(`${h.url}/ws/ep1?token=${TOKEN}`);
    await eventually(
      async () => h.bus.joins.length,
      (n) => n === 1,
      { what: 'join started' },
    );
    await h.ws.closeAll(1001, 'server shutting down', 1_000);
    expect((await refused).status).toBe(503);
    await eventually(
      async () => h.bus.leaves,
      (l) => l.length === 1,
      { what: 'matching leave' },
    );
    expect(h.bus.leaves).toEqual(['ep1']);
    expect(h.counters.connectionsOpened).toBe(0);
  });
});

describe('RelayWsServer heartbeat', () => {
  test('a peer that never answers pings is terminated and counted as heartbeat, once', async () => {
    const h = await harness({ heartbeatIntervalMs: 100 });
    try {
      const peer = mutePeer(h.port);
      await peer.closed;
      await eventually(
        async () => h.counters.disconnects.heartbeat,
        (n) => n === 1,
        { what: 'heartbeat disconnect' },
      );
      expect(h.counters.heartbeatTerminations).toBe(1);
      expect(h.counters.disconnects.client_close).toBe(0);
      expect(h.stats.disconnects).toEqual(['ep1']);
    } finally {
      await h.close();
    }
  });
});
