import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { setLogLevel } from '../src/logger';
import { RelayCounters } from '../src/monitoring/metrics';
import { Heartbeat } from '../src/websocket/heartbeat';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

/*
 * HEARTBEAT_SLOTS: pings spread over the interval. Real sockets, a short interval: every socket
 * is pinged once per interval (never in one burst), a mute one is still terminated within about
 * two intervals, and a socket that closes leaves its slot.
 */

const INTERVAL = 400;
const SLOTS = 8;

async function heartbeatServer(slots: number) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const counters = new RelayCounters();
  const heartbeat = new Heartbeat(INTERVAL, counters, slots);
  const serverSockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    serverSockets.push(ws);
    heartbeat.watch(ws);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    heartbeat,
    counters,
    serverSockets,
    url,
    /** Resolves once the server has accepted `n` sockets in all. */
    accepted: (n: number) =>
      eventually(
        async () => serverSockets.length,
        (count) => count === n,
        { what: `${n} accepted` },
      ),
    async close() {
      heartbeat.stop();
      for (const ws of serverSockets) ws.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Records when each client saw each ping (ms, performance.now()). */
function pingTimes(c: Client): number[] {
  const times: number[] = [];
  c.ws.on('ping', () => times.push(performance.now()));
  return times;
}

describe('heartbeat spread over the interval', () => {
  let s: Awaited<ReturnType<typeof heartbeatServer>>;
  let clients: Client[] = [];
  beforeAll(() => setLogLevel('error'));
  afterEach(async () => {
    await closeAll(clients);
    clients = [];
    await s?.close();
  });

  test('keeps the requested slots, and fewer when a slot would be under 10 ms', () => {
    const counters = new RelayCounters();
    expect(new Heartbeat(30_000, counters, 30).slotCount).toBe(30);
    expect(new Heartbeat(100, counters, 30).slotCount).toBe(10);
    expect(new Heartbeat(30_000, counters, 1).slotCount).toBe(1);
    expect(new Heartbeat(30_000, counters, 0).slotCount).toBe(1);
  });

  test('deals sockets evenly over the slots and pings each once per interval, at different ticks', async () => {
    s = await heartbeatServer(SLOTS);
    for (let i = 0; i < 2 * SLOTS; i++) clients.push(await connect(s.url, {}, `c${i}`));
    await s.accepted(2 * SLOTS);
    const times = clients.map(pingTimes);
    const started = performance.now();
    s.heartbeat.start();
    // Four intervals: each socket gets about four pings, one per interval.
    await eventually(
      async () => Math.min(...times.map((t) => t.length)),
      (n) => n >= 4,
      { timeoutMs: INTERVAL * 40, what: 'four pings each' },
    );
    const elapsed = performance.now() - started;
    const intervals = elapsed / INTERVAL;
    for (const t of times) {
      // Never more than one ping per interval: a socket is visited once per round of slots.
      expect(t.length).toBeLessThanOrEqual(Math.ceil(intervals) + 1);
      for (let i = 1; i < t.length; i++) expect(t[i] - t[i - 1]).toBeGreaterThan(INTERVAL / 2);
    }
    // Spread: the first pings came in separate bursts (one per slot), not all from one tick:
    // sorted, they show gaps of at least half a slot between groups.
    const first = times.map((t) => t[0]).sort((x, y) => x - y);
    const gaps = first.slice(1).filter((t, i) => t - first[i] >= INTERVAL / SLOTS / 2).length;
    expect(gaps).toBeGreaterThanOrEqual(SLOTS / 2);
    expect(s.counters.heartbeatTerminations).toBe(0);
    expect(clients.every((c) => c.isOpen)).toBe(true);
  });

  test('a mute socket is pinged once and terminated within about two intervals; its peers stay', async () => {
    s = await heartbeatServer(SLOTS);
    const alive = await connect(s.url, {}, 'alive');
    const mute = await connect(s.url, { autoPong: false }, 'mute');
    clients.push(alive, mute);
    await s.accepted(2);
    s.heartbeat.start();
    const closed = await mute.waitClosed(INTERVAL * 20);
    expect(closed.code).toBe(1006);
    expect(mute.pings).toBe(1);
    expect(s.counters.heartbeatTerminations).toBe(1);
    expect(alive.isOpen).toBe(true);
    await alive.waitFor(() => alive.pings >= 3, INTERVAL * 20, '3 pings');
    expect(s.counters.heartbeatTerminations).toBe(1);
  });

  test('a socket that closes leaves its slot; a new one takes the emptiest slot', async () => {
    s = await heartbeatServer(2);
    const a = await connect(s.url, {}, 'a');
    const b = await connect(s.url, {}, 'b');
    clients.push(a, b);
    await s.accepted(2);
    const slots = (s.heartbeat as unknown as { slots: Set<WebSocket>[] }).slots;
    expect(slots.map((x) => x.size)).toEqual([1, 1]);
    await a.close();
    await eventually(
      async () => slots.map((x) => x.size).join(),
      (v) => v === '0,1',
      { what: 'a left slot 0' },
    );
    const c = await connect(s.url, {}, 'c');
    clients.push(c);
    await eventually(
      async () => slots.map((x) => x.size).join(),
      (v) => v === '1,1',
      { what: 'c took slot 0' },
    );
  });

  test('stop(): no ping after it, so a mute socket is left alone', async () => {
    s = await heartbeatServer(1);
    const mute = await connect(s.url, { autoPong: false }, 'mute');
    clients.push(mute);
    await s.accepted(1);
    s.heartbeat.start();
    await mute.waitFor(() => mute.pings === 1, INTERVAL * 20, 'first ping');
    s.heartbeat.stop();
    // Unstopped, the next tick (one interval later) would terminate the mute socket.
    await new Promise((r) => setTimeout(r, INTERVAL * 3));
    expect(mute.pings).toBe(1);
    expect(mute.isOpen).toBe(true);
    expect(s.counters.heartbeatTerminations).toBe(0);
  });

  test('a closing socket is not pinged nor counted as a missed heartbeat', async () => {
    s = await heartbeatServer(1);
    const c = await connect(s.url, { autoPong: false }, 'closing');
    clients.push(c);
    await s.accepted(1);
    // The client ignores the close frame too (it is paused), so the server socket stays CLOSING.
    c.ws.pause();
    s.serverSockets[0].close(1000, 'bye');
    s.heartbeat.start();
    await new Promise((r) => setTimeout(r, INTERVAL * 3));
    expect(s.serverSockets[0].readyState).toBe(WebSocket.CLOSING);
    expect(c.pings).toBe(0);
    expect(s.counters.heartbeatTerminations).toBe(0);
    c.ws.resume();
  });
});
