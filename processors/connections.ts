/**
 * Artillery processor for the connection-handling scenarios (engine `ws`): churn, reconnect
 * storm and many-connection hold. Same open-loop traffic and delivery ledger as
 * processors/relay.ts (processors/lib), so the pack's e2e gates judge these runs too, plus
 * what a connection's life adds:
 *
 *  - `connectionMode: hold`  one socket per VU for the whole window (the 19,000-connection run).
 *  - `connectionMode: churn` every VU replaces its socket after a random life of
 *    lifeMinMs..lifeMaxMs: stop counting, drain what it is owed, close, open a new one.
 *  - `connectionMode: storm` every VU drops its socket (terminate, no close frame) at the same
 *    instant, `stormAtSeconds` into the send window, and reconnects at once.
 *
 * The VU's first socket is Artillery's (connect function `assignConnection`); replacements are
 * opened here with the `ws` library, from the same source address. Each socket is a new
 * Receiver with a new sender id, so the ledger's contiguous-window rule holds per socket.
 * Each generator worker thread loads this module separately; all state below is per thread.
 */
import { readFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import WebSocket from 'ws';
import { CONN_COUNTERS, CONN_HISTOGRAMS } from './lib/connection-metrics';
import { encodeFrame, makePadding, nowMs } from './lib/frame';
import { Ledger, Receiver } from './lib/ledger';
import {
  latencyDirForRun,
  IntervalLatency,
  newLatencySet,
  printAndCleanLatencyDir,
  recordMs,
  writeLatencyFile,
} from './lib/latency';
import { HISTOGRAMS } from './lib/metric-names';
import { deleteEndpoint, mapLimit, type CreatedEndpoint } from './lib/rest-client';
import { SendSchedule } from './lib/schedule';
import { readSettings, resolveTarget, restBaseFromTarget } from './lib/settings';
import { FD_HEADROOM, fdLimits, gaugeValue, sourceAddress, sumSeries } from './lib/source-address';
import {
  CLOSED,
  OPEN,
  SEND_GRACE_MS,
  createScenarioEndpoints,
  frameListener,
  joinEndpoint,
  senderId,
  type Done,
  type RawSocket,
  type VuContext as BaseVuContext,
  type WsArgs,
} from './lib/vu';
import { sharedWindowStart } from './lib/window-barrier';
import { WorkerStats, type Emitter } from './lib/worker-stats';

/** What both Artillery's ws 7 socket and ws 8 offer and this module uses, beyond RawSocket. */
interface ClientSocket extends RawSocket {
  removeAllListeners(event?: string): void;
  close(code?: number): void;
  terminate(): void;
}

type VuContext = BaseVuContext<ClientSocket>;
type Mode = 'hold' | 'churn' | 'storm';

const OPEN_ATTEMPTS = 12;
/**
 * How long past its own drain limit a drained VU waits for the thread's other VUs before it
 * closes anyway (ms): they end by the window's end + drainMs, plus a reconnect under churn.
 */
const CLOSE_WAIT_SLACK_MS = 5000;

const ledger = new Ledger();
/** Every delivery and send of this thread, exact; written to the latency directory when the thread's last VU ends. */
const latency = newLatencySet();
/** Latency from the intended send time: per interval (the runner's per-second percentiles), added into `latency.intended` at each flush. */
const intended = new IntervalLatency(latency.intended);
const stats = new WorkerStats(intended);
let vuCounter = 0;
let socketCounter = 0;
/** VUs of this thread whose runConnections has not returned (the last one writes the latency file). */
let vusRunning = 0;
let firstVuAt: number | undefined;

/**
 * The conn.* counters of this thread, summed and emitted once a second (as WorkerStats does
 * for e2e.*): churn opens a socket per cycle, a counter event each would load Artillery.
 */
const connPending = new Map<string, number>();
let connEmitter: Emitter | undefined;
function countConn(name: string, n = 1): void {
  connPending.set(name, (connPending.get(name) ?? 0) + n);
}
function flushConn(): void {
  if (!connEmitter) return;
  for (const [name, n] of connPending) if (n !== 0) connEmitter.emit('counter', name, n);
  connPending.clear();
}
function attachConn(events: Emitter): void {
  if (connEmitter) return;
  connEmitter = events;
  for (const name of Object.values(CONN_COUNTERS)) events.emit('counter', name, 0);
  setInterval(flushConn, 1000).unref();
}

export interface ConnectionSettings {
  mode: Mode;
  /** Loopback source addresses to spread sockets over (0 = kernel's choice). */
  sourceAddresses: number;
  lifeMinMs: number;
  lifeMaxMs: number;
  stormAtSeconds: number;
}

/** Reads the connection knobs from config.variables; throws on a bad value. */
export function readConnectionSettings(vars: Record<string, unknown>): ConnectionSettings {
  const mode = String(vars.connectionMode ?? 'hold');
  if (mode !== 'hold' && mode !== 'churn' && mode !== 'storm')
    throw new Error(
      `config.variables.connectionMode must be hold, churn or storm, got ${JSON.stringify(mode)}`,
    );
  const num = (name: string, fallback: number) => {
    const raw = vars[name];
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(n) || n < 0)
      throw new Error(`config.variables.${name} must be a number >= 0, got ${JSON.stringify(raw)}`);
    return n;
  };
  const s: ConnectionSettings = {
    mode,
    sourceAddresses: Math.floor(num('sourceAddresses', 0)),
    lifeMinMs: num('lifeMinMs', 1000),
    lifeMaxMs: num('lifeMaxMs', 3000),
    stormAtSeconds: num('stormAtSeconds', 10),
  };
  if (s.lifeMaxMs < s.lifeMinMs) throw new Error('config.variables.lifeMaxMs must be >= lifeMinMs');
  return s;
}

async function relayMetrics(base: string): Promise<string> {
  const headers: Record<string, string> = {};
  if (process.env.API_KEY) headers.authorization = `Bearer ${process.env.API_KEY}`;
  const res = await fetch(`${base}/metrics`, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics -> ${res.status}`);
  return text;
}

const mb = (bytes: number | undefined) =>
  bytes === undefined ? 'n/a' : `${(bytes / 1048576).toFixed(1)} MB`;

/** `before` hook: checks the fd limit against the plan, creates the endpoints, notes the relay's memory. */
export function createEndpoints(context: VuContext, _events: Emitter, done: Done): void {
  const settings = readSettings(context.vars);
  // Under --generators this process opens only its slice's sockets.
  const sockets = settings.slice.count * settings.connectionsPerEndpoint;
  try {
    const limits = fdLimits(readFileSync('/proc/self/limits', 'utf8'));
    if (limits) {
      const ceiling = limits.soft === limits.hard ? ' (soft = hard: the hard limit is the ceiling)' : '';
      console.log(
        `generator fd limit: soft ${limits.soft}, hard ${limits.hard}${ceiling}; planned sockets ${sockets}`,
      );
      if (sockets + FD_HEADROOM > limits.soft)
        console.log(
          `warning: ${sockets} sockets need more descriptors than the soft limit ${limits.soft}; raise it (ulimit -n ${limits.hard})`,
        );
    }
  } catch {
    // Not Linux: nothing to check.
  }
  createScenarioEndpoints(context, latencyDirForRun())
    .then(async ({ base }) => {
      const text = await relayMetrics(base).catch(() => '');
      context.vars.relayRssBefore = gaugeValue(text, 'process_resident_memory_bytes');
      context.vars.relayHeapBefore = gaugeValue(text, 'nodejs_heap_size_used_bytes');
      done();
    })
    .catch((err: Error) => done(err));
}

/**
 * `after` hook: the relay must report 0 open connections for the scenario's endpoints (its
 * relay_connections gauge, then GET /stats currentConnections of each), within 30 s; prints
 * the relay's heap before/after. Fails the run when a connection stays counted.
 */
export function deleteEndpoints(context: VuContext, _events: Emitter, done: Done): void {
  printAndCleanLatencyDir(context.vars.latencyDir);
  const list = Array.isArray(context.vars.relayEndpoints)
    ? (context.vars.relayEndpoints as CreatedEndpoint[])
    : [];
  const base = restBaseFromTarget(resolveTarget(context.vars));
  const ids = new Set(list.map((e) => e.id));
  const check = async (): Promise<string | undefined> => {
    const started = Date.now();
    let open = Number.NaN;
    let text = '';
    while (Date.now() - started < 30_000) {
      text = await relayMetrics(base);
      open = sumSeries(text, 'relay_connections', 'endpoint', ids);
      if (open === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const current = await mapLimit(list, 10, async (ep) => {
      const res = await fetch(`${base}/api/endpoints/${encodeURIComponent(ep.id)}/stats`, {
        headers: { authorization: `Bearer ${process.env.API_KEY ?? ''}` },
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { currentConnections?: number };
      return Number(body.currentConnections ?? Number.NaN);
    });
    const counted = current.reduce((a, b) => a + b, 0);
    console.log(
      `connections-check: relay_connections ${open}, currentConnections ${counted} over ${list.length} endpoints ` +
        `${Date.now() - started} ms after the last VU; relay heap ${mb(context.vars.relayHeapBefore as number)} before, ` +
        `${mb(gaugeValue(text, 'nodejs_heap_size_used_bytes'))} after; rss ${mb(context.vars.relayRssBefore as number)} before, ` +
        `${mb(gaugeValue(text, 'process_resident_memory_bytes'))} after`,
    );
    if (open !== 0 || counted !== 0)
      return `relay still counts ${open} open sockets / currentConnections ${counted}`;
    return undefined;
  };
  check()
    .catch((err: Error) => `connections-check failed: ${err.message}`)
    .then(async (problem) => {
      await mapLimit(list, 10, (ep) => deleteEndpoint(base, process.env.API_KEY, ep.id)).catch((err: Error) =>
        console.error(`warning: endpoint cleanup failed: ${err.message}`),
      );
      done(problem ? new Error(problem) : undefined);
    });
}

/** `connect` function: endpoint round-robin (as relay.ts), token in the URL, and a source address. */
export function assignConnection(wsArgs: WsArgs, context: VuContext, done: Done): void {
  try {
    const conn = readConnectionSettings(context.vars);
    const index = vuCounter++;
    firstVuAt ??= nowMs();
    joinEndpoint(wsArgs, context, index);
    // Thread id in the address choice too, so threads do not all start on 127.0.0.2.
    const localAddress = sourceAddress(index + threadId, conn.sourceAddresses);
    if (localAddress) wsArgs.options = { ...wsArgs.options, localAddress };
    context.vars.__url = wsArgs.target;
    context.vars.__localAddress = localAddress;
    context.vars.__vuIndex = index;
    done();
  } catch (err) {
    done(err as Error);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Opens a socket with retries (a full listen backlog resets connects); throws after OPEN_ATTEMPTS. */
async function openSocket(url: string, localAddress: string | undefined): Promise<ClientSocket> {
  let lastError = '';
  for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
    if (attempt > 0) {
      countConn(CONN_COUNTERS.retried);
      await sleep(Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random()));
    }
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    const error = await new Promise<string | undefined>((resolve) => {
      ws.once('open', () => resolve(undefined));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(`HTTP ${res.statusCode}`);
      });
      ws.once('error', (err) => resolve(err.message));
    });
    if (error === undefined) {
      ws.on('error', () => undefined);
      return ws as unknown as ClientSocket;
    }
    lastError = error;
    ws.on('error', () => undefined);
    ws.terminate();
  }
  countConn(CONN_COUNTERS.failed);
  throw new Error(`could not open ${url} after ${OPEN_ATTEMPTS} attempts: ${lastError}`);
}

function closeSocket(ws: ClientSocket, abrupt: boolean): Promise<void> {
  if (ws.readyState === CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 5000);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (abrupt) ws.terminate();
    else ws.close(1000);
  });
}

/**
 * `function` step: the VU's connection life in the scenario's mode. Resolves when the window
 * and the final drain are over; rejects (fails the VU) when the relay closes a socket the
 * VU did not, or a socket cannot be opened.
 */
export async function runConnections(context: VuContext, events: Emitter): Promise<void> {
  let ws = context.ws;
  if (!ws) throw new Error('runConnections needs an open socket: put it after `connect`');
  const settings = readSettings(context.vars);
  const conn = readConnectionSettings(context.vars);
  stats.attach(events);
  attachConn(events);
  stats.activeVus++;
  vusRunning++;
  /**
   * Whether this VU still counts in stats.activeVus, whose stalls judge the generator. It stops
   * counting once its last socket is drained, before the close: 19,000 sockets closing at the
   * end stalled the thread for 2.9 s after every frame had arrived, which no frame saw and
   * which must not make the run INVALID.
   */
  let measuring = true;
  const stopMeasuring = (): void => {
    if (!measuring) return;
    measuring = false;
    stats.vuStopped();
  };
  const url = String(context.vars.__url);
  const localAddress = context.vars.__localAddress as string | undefined;
  const slot = Number(context.vars.__slot);

  let openedAt = nowMs();
  stats.histogram(HISTOGRAMS.connect, openedAt - Number(context.vars.__connectStartedAt ?? openedAt));
  countConn(CONN_COUNTERS.opened);

  const totalConnections = settings.endpoints * settings.connectionsPerEndpoint;
  const ownStart = (firstVuAt ?? openedAt) + settings.rampSeconds * 1000 + settings.settleMs;
  const windowStart = await sharedWindowStart(context.vars, settings.slice, ownStart);
  const schedule = new SendSchedule(
    settings.steps,
    windowStart,
    1 / totalConnections,
    Math.random(),
    openedAt,
  );
  const stormAt = windowStart + conn.stormAtSeconds * 1000;
  const padding = makePadding(settings.payloadBytes);
  let k = schedule.skipped;
  /** Per VU, across its sockets; each socket is a new sender id, so every id's seqs are contiguous. */
  let seq = 0;
  /** Frames that fell due between two sockets of this VU. */
  let notDue = 0;
  let dropAt: number | undefined;
  let stormed = false;
  // Only the first socket's join can be late (later ones replace it); it joins in the loop's
  // first step, synchronously from here.
  if (nowMs() > windowStart) stats.add('lateJoins');

  try {
    for (;;) {
      const receiver = new Receiver(senderId(socketCounter++, settings.slice.index), slot);
      ledger.join(receiver, nowMs());
      const socket: ClientSocket = ws;
      let onDrained: (() => void) | undefined;
      let recovering = dropAt !== undefined;
      socket.on(
        'message',
        frameListener(
          receiver,
          { stats, latency, intended, settings },
          {
            onDelivered: () => {
              if (recovering && dropAt !== undefined) {
                recovering = false;
                stats.histogram(CONN_HISTOGRAMS.recovered, nowMs() - dropAt);
              }
              if (onDrained && receiver.outstanding() <= 0) onDrained();
            },
          },
        ),
      );
      let leaving = false;
      let closedEarly: ((err: Error) => void) | undefined;
      socket.on('close', (code) => {
        if (!leaving) closedEarly?.(new Error(`relay closed the connection during the run (code ${code})`));
      });

      // This socket's life ends at the window's end, or earlier for churn and the storm.
      let lifeEnd = schedule.endMs;
      if (conn.mode === 'churn')
        lifeEnd = Math.min(
          lifeEnd,
          nowMs() + conn.lifeMinMs + Math.random() * (conn.lifeMaxMs - conn.lifeMinMs),
        );
      if (conn.mode === 'storm' && !stormed) lifeEnd = Math.min(lifeEnd, stormAt);
      const last = lifeEnd >= schedule.endMs;

      let timer: NodeJS.Timeout | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          closedEarly = reject;
          const tick = (): void => {
            if (socket.readyState !== OPEN) {
              reject(new Error('socket is no longer open'));
              return;
            }
            const now = nowMs();
            const limit = Math.min(now, lifeEnd);
            for (let at = schedule.timeOf(k + 1); at <= limit; at = schedule.timeOf(k + 1)) {
              k++;
              if (now - at > SEND_GRACE_MS && now > schedule.endMs) continue;
              seq++;
              stats.add('expected', ledger.recordSend(receiver, seq));
              const sentAt = nowMs();
              socket.send(
                encodeFrame(
                  { endpointSlot: slot, senderId: receiver.id, seq, dueAtMs: at, sentAtMs: sentAt },
                  padding,
                ),
              );
              stats.add('sent');
              const lag = sentAt - at;
              stats.noteSendLag(lag);
              recordMs(latency.sendLag, lag);
            }
            if (now >= lifeEnd) {
              resolve();
              return;
            }
            timer = setTimeout(tick, Math.max(0, Math.min(schedule.timeOf(k + 1), lifeEnd) - nowMs()));
          };
          tick();
        });
        receiver.stopCounting(nowMs());
        const storming = conn.mode === 'storm' && !last;
        if (!storming && receiver.outstanding() > 0) {
          // Churn and the window's end: wait for what this socket is owed before leaving.
          await new Promise<void>((resolve, reject) => {
            closedEarly = reject;
            onDrained = resolve;
            timer = setTimeout(resolve, last ? settings.drainMs : Math.min(settings.drainMs, 1000));
          });
        }
        leaving = true;
        if (storming) {
          dropAt = nowMs();
          stormed = true;
          countConn(CONN_COUNTERS.droppedOwed, Math.max(0, receiver.outstanding()));
        } else {
          stats.add('lost', Math.max(0, receiver.outstanding()));
        }
        stats.histogram(CONN_HISTOGRAMS.lifetime, nowMs() - openedAt);
        ledger.leave(receiver);
        if (last) {
          stopMeasuring();
          // Closed only once every VU of this thread has drained: see WorkerStats.whenNoneActive.
          await stats.whenNoneActive(settings.drainMs + CLOSE_WAIT_SLACK_MS);
          await closeSocket(socket, false);
          return;
        }
        await closeSocket(socket, storming);
      } finally {
        leaving = true;
        if (timer) clearTimeout(timer);
        receiver.stopCounting(nowMs());
        ledger.leave(receiver);
      }

      ws = await openSocket(url, localAddress);
      openedAt = nowMs();
      // Frames that fell due while this client had no socket are not owed (as for a late
      // joiner): sent now they would read as generator send lag, and a real client would not
      // have produced them either.
      const missed = schedule.dueBy(openedAt) - k;
      if (missed > 0) {
        k += missed;
        notDue += missed;
      }
      countConn(CONN_COUNTERS.opened);
      if (dropAt !== undefined && conn.mode === 'storm')
        stats.histogram(CONN_HISTOGRAMS.reconnect, openedAt - dropAt);
    }
  } finally {
    stats.add('due', schedule.totalDue() - notDue);
    stopMeasuring();
    vusRunning--;
    stats.flush();
    if (vusRunning === 0) {
      const dir = process.env.RELAY_PERF_HDR_DIR || context.vars.latencyDir;
      if (typeof dir === 'string') writeLatencyFile(dir, `thread-${process.pid}-${threadId}`, latency);
    }
    flushConn();
  }
}
