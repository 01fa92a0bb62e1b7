/**
 * Artillery processor for the relay scenarios (engine `ws`).
 *
 * Hooks used, and why (Artillery 2.0.34's ws engine offers no others):
 *  - `before`/`after` (main thread, http engine): create / delete the endpoints over REST (and,
 *    with `deviceDataShare` > 0, the alert rules of processors/lib/device-readings.ts).
 *  - `connect: { function: assignEndpoint }`: pick this VU's endpoint and put its token in the URL.
 *  - `function: runTraffic`: the whole life of the connection. The engine only counts
 *    received frames inside capture/match steps, so we attach our own listener to
 *    the raw socket (`context.ws`, Artillery's bundled ws 7: text frames arrive as strings)
 *    and drive sends from a wall-clock schedule instead of `send` + `think` steps.
 *
 * Each generator worker thread loads this module separately; all state below is per thread.
 */
import { threadId } from 'node:worker_threads';
import {
  ALERT_RULES,
  DeviceTallies,
  awaitStored,
  fires,
  readReadingSettings,
  readingNumber,
  readingValue,
} from './lib/device-readings';
import { encodeFrame, encodeReadingFrame, makePadding, nowMs } from './lib/frame';
import {
  latencyDirForRun,
  IntervalLatency,
  newLatencySet,
  printAndCleanLatencyDir,
  recordMs,
  writeLatencyFile,
} from './lib/latency';
import { Ledger, Receiver } from './lib/ledger';
import { HISTOGRAMS, IOT_COUNTERS } from './lib/metric-names';
import {
  createAlertRule,
  deleteEndpoint,
  deviceCounts,
  mapLimit,
  type CreatedEndpoint,
} from './lib/rest-client';
import { SendSchedule } from './lib/schedule';
import { SendLoop, type Sender } from './lib/send-loop';
import { ThreadProfiler } from './lib/thread-profiler';
import { sharedWindowStart } from './lib/window-barrier';
import { readSettings, resolveTarget, restBaseFromTarget } from './lib/settings';
import {
  OPEN,
  SEND_GRACE_MS,
  createScenarioEndpoints,
  endpointsFrom,
  clusterPlacementOf,
  frameListener,
  joinEndpoint,
  senderId,
  type Done,
  type VuContext,
  type WsArgs,
} from './lib/vu';
import { engineWsVersion, useEngineWs } from './lib/engine-socket';
import { WorkerStats, type Emitter } from './lib/worker-stats';

/** Checked at load, so a bad RELAY_PERF_ENGINE_WS stops the run with its message before any VU. */
const ENGINE_WS = engineWsVersion();
const ledger = new Ledger();
/** Every delivery and send of this thread, exact; written to the latency directory when the thread's last VU ends. */
const latency = newLatencySet();
/** Latency from the intended send time: per interval (the runner's per-second percentiles), added into `latency.intended` at each flush. */
const intended = new IntervalLatency(latency.intended);
const stats = new WorkerStats(intended);
const profiler = new ThreadProfiler();
const sendLoop = new SendLoop();
/** The readings this thread sent, per device (one per endpoint slot), for the end-of-run check. */
const tallies = new DeviceTallies();
let vuCounter = 0;
let firstVuAt: number | undefined;
/**
 * The thread's readings check, run once: a VU Artillery starts late (a starved generator) can
 * bring the thread's VU count from 0 back to 1 and 0 again, and a second check would emit the
 * stored counts a second time.
 */
let readingsChecked: Promise<void> | undefined;

/**
 * `before` hook: create the scenario's endpoints once, in the main thread (the list reaches
 * every VU via context.vars) and, when the scenario sends readings, ALERT_RULES on each.
 */
export function createEndpoints(context: VuContext, _events: Emitter, done: Done): void {
  const readings = readReadingSettings(context.vars);
  createScenarioEndpoints(context, latencyDirForRun())
    .then(async ({ base, created }) => {
      if (readings.share === 0) return;
      const started = Date.now();
      await mapLimit(created, 10, async (ep) => {
        for (const rule of ALERT_RULES) await createAlertRule(base, process.env.API_KEY, ep.id, rule);
      }).catch((err: Error) => {
        throw new Error(`could not create alert rules on ${base}: ${err.message}`);
      });
      console.log(
        `created ${ALERT_RULES.length} alert rules on each of ${created.length} endpoints in ${Date.now() - started} ms` +
          ` (readings: ${readings.share * 100}% of frames, each connection's reading number k fires when k mod ${readings.alertEvery} is 0)`,
      );
    })
    .then(() => done())
    .catch((err: Error) => done(err));
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

/** `connect` function: round-robin VUs over endpoints so each gets connectionsPerEndpoint peers. */
export function assignEndpoint(wsArgs: WsArgs, context: VuContext, done: Done): void {
  try {
    const index = vuCounter++;
    firstVuAt ??= nowMs();
    joinEndpoint(wsArgs, context, index);
    context.vars.__vuId = senderId(index, readSettings(context.vars).slice.index);
    // The engine opens the socket once done() is called: the ws 8 swap must be in place by then.
    useEngineWs(ENGINE_WS).then(
      () => done(),
      (err: Error) => done(err),
    );
  } catch (err) {
    done(err as Error);
  }
}

/**
 * The thread's last VU, before it ends: waits until the relay has stored every reading this
 * thread's devices sent and fired every alert expected (bounded by readingsCheckMs), and
 * emits the counts the `iot.*` gates in artillery/common.yml compare. Never throws: a
 * count that cannot be read leaves `stored` short, which fails the gate, and is printed.
 */
async function checkReadings(context: VuContext, checkMs: number): Promise<void> {
  const devices = tallies.all().filter((d) => d.sent > 0);
  if (devices.length === 0) return;
  const base = restBaseFromTarget(resolveTarget(context.vars));
  const { outcome, error, waitedMs } = await awaitStored(
    devices,
    (d) => deviceCounts(base, process.env.API_KEY, d.endpointId, d.deviceId),
    checkMs,
    500,
    (items, fn) => mapLimit(items, 10, fn),
  );
  stats.count(IOT_COUNTERS.stored, outcome?.stored ?? 0);
  stats.count(IOT_COUNTERS.alertsFired, outcome?.fired ?? 0);
  const summary = outcome
    ? `${outcome.stored} of ${outcome.accepted} accepted readings stored, ${outcome.fired} of ${outcome.expectedAlerts} alerts fired`
    : 'no counts read';
  console.log(
    `readings-check (thread ${threadId}, ${devices.length} devices, after ${waitedMs} ms): ${summary}` +
      (error ? `; last error: ${error}` : ''),
  );
  for (const line of outcome?.mismatches.slice(0, 5) ?? []) console.log(`readings-check mismatch: ${line}`);
}

/** `function` step: register, send on schedule, drain, account. Resolves when the VU is done; rejects to fail it. */
export async function runTraffic(context: VuContext, events: Emitter): Promise<void> {
  const ws = context.ws;
  if (!ws) throw new Error('runTraffic needs an open socket: put it after `connect`');
  const settings = readSettings(context.vars);
  const readings = readReadingSettings(context.vars);
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
  const slot = Number(context.vars.__slot);
  const receiver = new Receiver(Number(context.vars.__vuId), slot);
  const device =
    readings.share > 0
      ? tallies.of(slot, endpointsFrom(context.vars)[slot - settings.slice.offset].id)
      : undefined;
  const padding = makePadding(settings.payloadBytes);
  const joinedAt = nowMs();
  ledger.join(receiver, joinedAt);
  if (joinedAt > windowStart) stats.add('lateJoins');

  let onDrained: (() => void) | undefined;
  ws.on(
    'message',
    frameListener(
      receiver,
      { stats, latency, intended, settings, cluster: clusterPlacementOf(context.vars) },
      {
        onDelivered: () => {
          if (onDrained && receiver.outstanding() <= 0) onDrained();
        },
        onRefused: () => {
          if (device) device.refused++;
        },
      },
    ),
  );

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
        const frame = {
          endpointSlot: receiver.endpointSlot,
          senderId: receiver.id,
          seq,
          dueAtMs: at,
          sentAtMs: sentAt,
        };
        const reading = device ? readingNumber(seq, readings.share) : 0;
        if (device && reading > 0) {
          ws.send(
            encodeReadingFrame(frame, padding, device.deviceId, readingValue(reading, readings.alertEvery)),
          );
          device.sent++;
          stats.count(IOT_COUNTERS.sent);
          if (fires(reading, readings.alertEvery)) {
            device.firing++;
            stats.count(IOT_COUNTERS.alertsExpected);
          }
        } else {
          ws.send(encodeFrame(frame, padding));
        }
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
    receiver.stopCounting(nowMs());

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
    receiver.stopCounting(nowMs());
    ledger.leave(receiver);
    stats.add('due', schedule.totalDue());
    stats.add('lost', Math.max(0, receiver.outstanding()));
    stats.vuStopped();
    if (stats.activeVus === 0) await (readingsChecked ??= checkReadings(context, readings.checkMs));
    stats.flush();
    if (stats.activeVus === 0) {
      profiler.stop();
      const dir = process.env.RELAY_PERF_HDR_DIR || context.vars.latencyDir;
      if (typeof dir === 'string') writeLatencyFile(dir, `thread-${process.pid}-${threadId}`, latency);
    }
  }
}
