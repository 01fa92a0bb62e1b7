/**
 * Artillery processor for the relay scenarios (engine `ws`).
 *
 * Hooks used, and why (Artillery 2.0.34's ws engine offers no others):
 *  - `before`/`after` (main thread, http engine): create / delete the endpoints over REST.
 *  - `connect: { function: assignEndpoint }`: pick this VU's endpoint and put its token in the URL.
 *  - `function: runTraffic`: the whole life of the connection. The engine only counts
 *    received frames inside capture/match steps, so we attach our own listener to
 *    the raw socket (`context.ws`, Artillery's bundled ws 7: text frames arrive as strings)
 *    and drive sends from a wall-clock schedule instead of `send` + `think` steps.
 *
 * Each generator worker thread loads this module separately; all state below is per thread.
 */
import { randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { decodeFrame, encodeFrame, makePadding, nowMs } from './lib/frame';
import {
  latencyDirForRun,
  newHistogram,
  newLatencySet,
  printAndCleanLatencyDir,
  recordMs,
  writeLatencyFile,
} from './lib/latency';
import { Ledger, Receiver } from './lib/ledger';
import { HISTOGRAMS } from './lib/metric-names';
import { createEndpoint, deleteEndpoint, mapLimit, type CreatedEndpoint } from './lib/rest-client';
import { SendSchedule } from './lib/schedule';
import { SendLoop, type Sender } from './lib/send-loop';
import { ThreadProfiler } from './lib/thread-profiler';
import { makeWindowBarrier } from './lib/window-barrier';
import { readSettings, resolveTarget, restBaseFromTarget } from './lib/settings';
import { WorkerStats, type Emitter } from './lib/worker-stats';

interface VuContext {
  vars: Record<string, unknown>;
  ws?: RawSocket;
}

/** The subset of ws 7's WebSocket the processor touches. */
interface RawSocket {
  readyState: number;
  on(event: 'message', listener: (data: unknown) => void): void;
  on(event: 'close', listener: (code: number) => void): void;
  send(data: string, cb?: (err?: Error) => void): void;
}

interface WsArgs {
  target: string;
}

type Done = (err?: Error) => void;

const OPEN = 1;
/** Frames scheduled inside the window may leave this late and still count as sent on schedule. */
const SEND_GRACE_MS = 250;
/** Sender ids must be unique across worker threads and generator processes: (generator, thread) in the high digits. */
const ID_STRIDE = 1_000_000;
const THREADS_PER_GENERATOR = 1_000;

const ledger = new Ledger();
/** Every delivery and send of this thread, exact; written to the latency directory when the thread's last VU ends. */
const latency = newLatencySet();
/** Latency from the intended send time since the last progress line (the runner's per-interval percentiles). */
const intervalLatency = newHistogram();
const stats = new WorkerStats(intervalLatency);
const profiler = new ThreadProfiler();
const sendLoop = new SendLoop();
let windowBarrier: ((ownStart: number) => Promise<number>) | undefined;
let vuCounter = 0;
let firstVuAt: number | undefined;

function endpointsFrom(vars: Record<string, unknown>): CreatedEndpoint[] {
  const list = vars.relayEndpoints;
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(
      'no relay endpoints in context: the scenario needs `before: { flow: [{ function: createEndpoints }] }`',
    );
  }
  return list as CreatedEndpoint[];
}

/**
 * `before` hook: create this generator's endpoints once, in the main thread (all of the scenario's,
 * or its slice under --generators); the list reaches every VU via context.vars.
 */
export function createEndpoints(context: VuContext, _events: Emitter, done: Done): void {
  let settings: ReturnType<typeof readSettings>;
  try {
    settings = readSettings(context.vars);
  } catch (err) {
    done(err as Error);
    return;
  }
  const { offset, count } = settings.slice;
  const base = restBaseFromTarget(resolveTarget(context.vars));
  const runTag = process.env.RELAY_PERF_RUN_ID || randomUUID().slice(0, 8);
  // Worker threads get context.vars from this hook: the one directory every thread writes its histograms to.
  context.vars.latencyDir = latencyDirForRun();
  const started = Date.now();
  mapLimit(Array.from({ length: count }), 10, (_x, i) =>
    createEndpoint(base, process.env.API_KEY, `perf-${runTag}-${offset + i}`),
  )
    .then((created) => {
      context.vars.relayEndpoints = created;
      console.log(`created ${created.length} endpoints on ${base} in ${Date.now() - started} ms`);
      done();
    })
    .catch((err: Error) => done(new Error(`could not create endpoints on ${base}: ${err.message}`)));
}

/** `after` hook: print the exact latency, then remove what `before` created so repeated runs on a shared database do not pile up. */
export function deleteEndpoints(context: VuContext, _events: Emitter, done: Done): void {
  printAndCleanLatencyDir(context.vars.latencyDir);
  const list = Array.isArray(context.vars.relayEndpoints)
    ? (context.vars.relayEndpoints as CreatedEndpoint[])
    : [];
  const base = restBaseFromTarget(resolveTarget(context.vars));
  mapLimit(list, 10, (ep) => deleteEndpoint(base, process.env.API_KEY, ep.id))
    .then(() => done())
    .catch((err: Error) => {
      // Cleanup failure must not turn a measured run into a failed one; say it and move on.
      console.error(`warning: endpoint cleanup failed: ${err.message}`);
      done();
    });
}

/**
 * `connect` function: round-robin VUs over this generator's endpoints so each gets
 * connectionsPerEndpoint peers. Frames carry the global slot (offset + local), so a frame the
 * relay delivers to another generator's endpoint is counted there as misrouted, not extra.
 */
export function assignEndpoint(wsArgs: WsArgs, context: VuContext, done: Done): void {
  try {
    const settings = readSettings(context.vars);
    const endpoints = endpointsFrom(context.vars);
    const index = vuCounter++;
    firstVuAt ??= nowMs();
    const local = index % Math.min(settings.slice.count, endpoints.length);
    const endpoint = endpoints[local];
    const target = resolveTarget(context.vars).replace(/\/+$/, '');
    wsArgs.target = `${target}/ws/${encodeURIComponent(endpoint.id)}?token=${encodeURIComponent(endpoint.token)}`;
    context.vars.__slot = settings.slice.offset + local;
    context.vars.__vuId = (settings.slice.index * THREADS_PER_GENERATOR + threadId) * ID_STRIDE + index;
    context.vars.__connectStartedAt = nowMs();
    done();
  } catch (err) {
    done(err as Error);
  }
}

/**
 * The send window's start: this thread's own (first connection + ramp + settle) for one generator;
 * under --generators the latest of all processes' own starts (processors/lib/window-barrier.ts),
 * agreed through the latency directory they share, so the relay sees the aggregate rate.
 */
function sharedWindowStart(
  vars: Record<string, unknown>,
  slice: ReturnType<typeof readSettings>['slice'],
  ownStart: number,
): Promise<number> {
  const dir = process.env.RELAY_PERF_HDR_DIR || vars.latencyDir;
  if (slice.generators === 1 || typeof dir !== 'string') return Promise.resolve(ownStart);
  windowBarrier ??= makeWindowBarrier(dir, slice.index, slice.generators);
  return windowBarrier(ownStart);
}

/** `function` step: register, send on schedule, drain, account. Resolves when the VU is done; rejects to fail it. */
export async function runTraffic(context: VuContext, events: Emitter): Promise<void> {
  const ws = context.ws;
  if (!ws) throw new Error('runTraffic needs an open socket: put it after `connect`');
  const settings = readSettings(context.vars);
  stats.attach(events);
  profiler.start();
  stats.activeVus++;

  const openedAt = nowMs();
  stats.histogram(HISTOGRAMS.connect, openedAt - Number(context.vars.__connectStartedAt ?? openedAt));

  // The whole scenario's connections (all generators): each sends its equal share of the aggregate plan.
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
  const receiver = new Receiver(Number(context.vars.__vuId), Number(context.vars.__slot));
  const padding = makePadding(settings.payloadBytes);
  const p95Limit = settings.latencyP95LimitMs;
  const p99Limit = settings.latencyP99LimitMs;
  ledger.join(receiver);

  let onDrained: (() => void) | undefined;
  ws.on('message', (data) => {
    // Stamp before parsing: our own decode time is not the relay's.
    const arrivedAt = nowMs();
    const frame = decodeFrame(data);
    if (!frame) {
      stats.add('extra');
      return;
    }
    const outcome = receiver.receive(frame.endpointSlot, frame.senderId, frame.seq);
    stats.add(outcome);
    if (outcome === 'reordered') stats.add('delivered');
    if (outcome === 'delivered' || outcome === 'reordered') {
      const fromIntended = arrivedAt - frame.dueAtMs;
      recordMs(latency.intended, fromIntended);
      recordMs(intervalLatency, fromIntended);
      recordMs(latency.sent, arrivedAt - frame.sentAtMs);
      if (fromIntended > p95Limit) stats.add('overP95');
      if (fromIntended > p99Limit) stats.add('overP99');
      if (onDrained && receiver.outstanding() <= 0) onDrained();
    }
  });

  let closedEarly: ((err: Error) => void) | undefined;
  let finished = false;
  ws.on('close', (code) => {
    if (!finished) closedEarly?.(new Error(`relay closed the connection during the run (code ${code})`));
  });

  let timer: NodeJS.Timeout | undefined;
  let sender: Sender | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      closedEarly = reject;
      let k = schedule.skipped;
      let seq = 0;
      let done = false;
      const send = (_k: number, at: number): void => {
        seq++;
        stats.add('expected', ledger.recordSend(receiver, seq));
        const sentAt = nowMs();
        ws.send(
          encodeFrame(
            {
              endpointSlot: receiver.endpointSlot,
              senderId: receiver.id,
              seq,
              dueAtMs: at,
              sentAtMs: sentAt,
            },
            padding,
          ),
        );
        stats.add('sent');
        const lag = sentAt - at;
        stats.noteSendLag(lag);
        recordMs(latency.sendLag, lag);
      };
      sender = {
        nextDueMs: () => (done ? Infinity : Math.min(schedule.timeOf(k + 1), schedule.endMs)),
        sendDue: (now) => {
          if (done) return;
          if (ws.readyState !== OPEN) {
            done = true;
            reject(new Error('socket is no longer open'));
            return;
          }
          k = schedule.takeDue(k, now, SEND_GRACE_MS, send);
          if (now >= schedule.endMs) {
            done = true;
            resolve();
          }
        },
      };
      sendLoop.add(sender);
    });
    receiver.counting = false;

    if (receiver.outstanding() > 0) {
      await new Promise<void>((resolve, reject) => {
        closedEarly = reject;
        onDrained = resolve;
        timer = setTimeout(resolve, settings.drainMs);
      });
    }
  } finally {
    finished = true;
    if (sender) sendLoop.remove(sender);
    if (timer) clearTimeout(timer);
    receiver.counting = false;
    ledger.leave(receiver);
    stats.add('due', schedule.totalDue());
    stats.add('lost', Math.max(0, receiver.outstanding()));
    stats.activeVus--;
    stats.flush();
    if (stats.activeVus === 0) {
      profiler.stop();
      const dir = process.env.RELAY_PERF_HDR_DIR || context.vars.latencyDir;
      if (typeof dir === 'string') writeLatencyFile(dir, `thread-${process.pid}-${threadId}`, latency);
    }
  }
}
