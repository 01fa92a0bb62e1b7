/**
 * Connection churn must leave nothing behind: after thousands of connect/disconnect cycles of
 * every kind (clean close, abrupt reset, abort mid-upgrade, refused token, heartbeat-terminated
 * mute client) the relay's own structures are back to empty, every server-side TCP socket is
 * garbage-collectable, handle counts and heap are back to their level before, and the stats
 * say 0 open connections. The 100,000-cycle run is the `churn` scenario of the perf pack; this
 * is the affordable version that gates every change.
 */
import type { Duplex } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import WebSocket from 'ws';
import { eachDb } from './helpers/databases';
import { startTestRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { connect, eventually, sleep, type Client } from './helpers/ws';

const CYCLES = Number(process.env.CHURN_CYCLES || 5000);
const WARMUP_CYCLES = 300;
const IN_FLIGHT = 40;
const ENDPOINTS = 4;
/** Long enough that a busy test process still answers its anchors' pings in time (one miss terminates). */
const HEARTBEAT_MS = 1000;
/**
 * Heap growth allowed after GC over the whole run. A retained socket costs several KB (ws
 * WebSocket + net.Socket + buffers), so a leak of even one small object per cycle over 5,000
 * cycles exceeds it; the slack absorbs V8's own caches (compiled code, inline caches).
 */
const HEAP_SLACK_BYTES = 3 * 1024 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Full GCs with turns of the event loop in between, so finalizers and close callbacks run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    await sleep(20);
  }
}

type Kind = 'clean' | 'reset' | 'abort' | 'refused' | 'mute';

/** Which kind cycle `i` is: mostly clean/reset, some aborts and refusals, a few mute clients. */
function kindOf(i: number): Kind {
  if (i % 100 === 99) return 'mute';
  return (['clean', 'reset', 'clean', 'abort', 'refused'] as const)[i % 5];
}

function waitEvent(ws: WebSocket, event: 'close' | 'open'): Promise<void> {
  return new Promise((resolve) => ws.once(event, () => resolve()));
}

/** Runs one cycle; returns whether the client saw its socket open. */
async function cycle(t: TestRelay, ep: CreatedEndpoint, kind: Kind, n: number): Promise<boolean> {
  if (kind === 'refused') {
    const ws = new WebSocket(t.wsUrl(ep.id, `wrong-${n}`));
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => reject(new Error('a wrong token was accepted')));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        res.on('end', () => resolve());
        ws.terminate();
      });
    });
    return false;
  }
  if (kind === 'abort') {
    // Gone before the upgrade completes: the relay is still checking the token (or has just
    // answered) when the TCP connection disappears.
    const ws = new WebSocket(t.wsUrl(ep.id, ep.token));
    ws.on('error', () => undefined);
    const closed = waitEvent(ws, 'close');
    setImmediate(() => ws.terminate());
    await closed;
    return false;
  }
  const ws = new WebSocket(t.wsUrl(ep.id, ep.token), { autoPong: kind !== 'mute' });
  ws.on('error', () => undefined);
  await waitEvent(ws, 'open');
  const closed = waitEvent(ws, 'close');
  if (kind === 'clean') {
    ws.send(`churn ${n}`);
    ws.close(1000, 'done');
  } else if (kind === 'reset') {
    ws.terminate();
  }
  // 'mute' never answers a ping: the heartbeat terminates it within two intervals.
  await closed;
  return true;
}

interface Tally {
  opened: number;
  clean: number;
  aborted: number;
}

async function churn(t: TestRelay, eps: CreatedEndpoint[], from: number, count: number): Promise<Tally> {
  const tally: Tally = { opened: 0, clean: 0, aborted: 0 };
  let next = from;
  const end = from + count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      const kind = kindOf(i);
      if (await cycle(t, eps[i % eps.length], kind, i)) tally.opened++;
      if (kind === 'clean') tally.clean++;
      if (kind === 'abort') tally.aborted++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return tally;
}

function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

eachDb('connection churn', (db) => {
  let t: TestRelay | undefined;
  let anchors: Client[] = [];
  afterAll(async () => {
    await Promise.all(anchors.map((a) => a.close()));
    await t?.stop();
  });

  it(`returns every structure, socket, handle and the heap to their level before after ${CYCLES} cycles`, async () => {
    t = await startTestRelay(db.url(), { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) });
    const relay = t;
    const eps: CreatedEndpoint[] = [];
    for (let i = 0; i < ENDPOINTS; i++) eps.push(await relay.createEndpoint('churn'));
    // One long-lived peer per endpoint: it must receive every frame a churning client sent.
    anchors = await Promise.all(eps.map((ep, i) => connect(relay.wsUrl(ep.id, ep.token), {}, `anchor${i}`)));

    // Every socket that asked for an upgrade (accepted, refused or aborted alike). REST sockets
    // are left out: fetch keeps them alive on purpose.
    const serverSockets: WeakRef<Duplex>[] = [];
    relay.relay.server.on('upgrade', (_req: unknown, s: Duplex) => serverSockets.push(new WeakRef(s)));

    const warm = await churn(relay, eps, 0, WARMUP_CYCLES);
    const statsBefore = await Promise.all(eps.map((ep) => relay.stats(ep.id)));
    const openedTotalBefore = await relay.metric('relay_connections_opened_total');
    serverSockets.length = 0;
    await collect();
    const heapBefore = process.memoryUsage().heapUsed;
    const resourcesBefore = resourceCounts();

    const run = await churn(relay, eps, WARMUP_CYCLES, CYCLES);

    // Only the anchors are left in every structure that tracks sockets.
    await eventually(
      async () => [...relay.relay.connections.sockets()].length,
      (n) => n === ENDPOINTS,
      { timeoutMs: 10_000, what: 'only the anchors registered' },
    );
    expect([...relay.relay.connections.perEndpoint()].map(([, n]) => n)).toEqual(eps.map(() => 1));
    expect(relay.relay.ws.wss.clients.size).toBe(ENDPOINTS);
    const stats = await eventually(
      () => Promise.all(eps.map((ep) => relay.stats(ep.id))),
      (s) => s.every((x) => x.currentConnections === 1),
      { timeoutMs: 10_000, what: 'currentConnections back to the anchor' },
    );
    // Every clean client's frame reached its endpoint's anchor, once.
    const frames = anchors.reduce((n, a) => n + a.frames.length, 0);
    expect(frames).toBe(warm.clean + run.clean);

    // Connections counted: every socket that opened, plus aborted ones that completed the
    // upgrade server-side before their reset arrived; nothing else.
    const opened = stats.reduce((n, s, i) => n + s.totalConnections - statsBefore[i].totalConnections, 0);
    expect(opened).toBeGreaterThanOrEqual(run.opened);
    expect(opened).toBeLessThanOrEqual(run.opened + run.aborted);
    expect((await relay.metric('relay_connections_opened_total')) - openedTotalBefore).toBe(opened);
    expect(await relay.metric('relay_heartbeat_terminations_total')).toBeGreaterThanOrEqual(
      Math.floor((WARMUP_CYCLES + CYCLES) / 100),
    );

    const live = await (async () => {
      await collect();
      return serverSockets.filter((r) => r.deref() !== undefined).length;
    })();
    const upgrades = serverSockets.length;
    // What the test itself holds (recorded frames, the WeakRefs) must not count as the relay's heap.
    for (const a of anchors) a.frames.length = 0;
    serverSockets.length = 0;
    await collect();
    const heapAfter = process.memoryUsage().heapUsed;
    const resourcesAfter = resourceCounts();
    const growth = heapAfter - heapBefore;
    console.log(
      `${db.name}: ${CYCLES} cycles (${run.opened} opened), ${upgrades} upgrade requests, ` +
        `${live} alive after GC; heap ${(heapBefore / 1048576).toFixed(1)} -> ${(heapAfter / 1048576).toFixed(1)} MB ` +
        `(${(growth / CYCLES).toFixed(0)} B/cycle); resources before ${JSON.stringify(resourcesBefore)} after ${JSON.stringify(resourcesAfter)}`,
    );
    expect(upgrades).toBeGreaterThanOrEqual(CYCLES * 0.9);
    expect(live).toBe(0);
    // Timers come and go (flush, heartbeat); a socket or handle that stayed would add one per cycle.
    const grown = Object.entries(resourcesAfter).filter(([type, n]) => n > (resourcesBefore[type] ?? 0) + 2);
    expect(grown).toEqual([]);
    expect(growth).toBeLessThan(HEAP_SLACK_BYTES);

    // And with the anchors gone, nothing at all.
    await Promise.all(anchors.map((a) => a.close()));
    anchors = [];
    await eventually(
      () => Promise.all(eps.map((ep) => relay.stats(ep.id))),
      (s) => s.every((x) => x.currentConnections === 0),
      { timeoutMs: 10_000, what: 'currentConnections 0' },
    );
    await eventually(
      async () => [...relay.relay.connections.sockets()].length + relay.relay.ws.wss.clients.size,
      (n) => n === 0,
      { timeoutMs: 5000, what: 'no socket registered' },
    );
    expect(await relay.metricsText()).not.toMatch(/^relay_connections\{/m);
  }, 120_000);
});
