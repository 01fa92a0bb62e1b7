/**
 * What both Artillery processors (processors/relay.ts, processors/connections.ts) share: the
 * hook and socket types, the endpoint set-up, the endpoint a VU joins, and what a received
 * frame means for the delivery accounting.
 *
 * Each generator worker thread loads its own copy; nothing here keeps state across VUs except
 * through the arguments it is given.
 */
import { randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { classifyFrame, nowMs } from './frame';
import { recordMs, type IntervalLatency, type LatencySet } from './latency';
import type { Receiver } from './ledger';
import { IOT_COUNTERS } from './metric-names';
import { createEndpoint, mapLimit, type CreatedEndpoint } from './rest-client';
import { readSettings, resolveTarget, restBaseFromTarget, type ScenarioSettings } from './settings';
import { ID_STRIDE, senderTargetIndex, targetIndexOf, targetsFrom } from './targets';
import type { WorkerStats } from './worker-stats';

/** The subset of ws 7's WebSocket (Artillery's) and ws 8's both processors touch. */
export interface RawSocket {
  readyState: number;
  on(event: 'message', listener: (data: unknown) => void): void;
  on(event: 'close', listener: (code: number) => void): void;
  send(data: string, cb?: (err?: Error) => void): void;
}

export interface VuContext<S extends RawSocket = RawSocket> {
  vars: Record<string, unknown>;
  ws?: S;
}

export interface WsArgs {
  target: string;
  options?: Record<string, unknown>;
}

export type Done = (err?: Error) => void;

export const OPEN = 1;
export const CLOSED = 3;
/** Frames scheduled inside the window may leave this late and still count as sent on schedule. */
export const SEND_GRACE_MS = 250;
export { ID_STRIDE };

export function endpointsFrom(vars: Record<string, unknown>): CreatedEndpoint[] {
  const list = vars.relayEndpoints;
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(
      'no relay endpoints in context: the scenario needs `before: { flow: [{ function: createEndpoints }] }`',
    );
  }
  return list as CreatedEndpoint[];
}

/**
 * The `before` hooks' common part, in the main thread: creates `settings.endpoints` endpoints
 * (10 requests in flight) and puts them in context.vars, which every VU then gets. Rejects
 * with the REST error. Returns the REST base URL and the endpoints.
 */
export async function createScenarioEndpoints(
  context: VuContext,
  latencyDir: string,
): Promise<{ base: string; created: CreatedEndpoint[]; settings: ScenarioSettings }> {
  const settings = readSettings(context.vars);
  // --generators: this process creates only its slice of whole endpoints (all of them by default).
  const { offset, count } = settings.slice;
  const base = restBaseFromTarget(resolveTarget(context.vars));
  const runTag = process.env.RELAY_PERF_RUN_ID || randomUUID().slice(0, 8);
  // Worker threads get context.vars from this hook: the one directory every thread writes its histograms to.
  context.vars.latencyDir = latencyDir;
  const started = Date.now();
  try {
    const created = await mapLimit(Array.from({ length: count }), 10, (_x, i) =>
      createEndpoint(base, process.env.API_KEY, `perf-${runTag}-${offset + i}`),
    );
    context.vars.relayEndpoints = created;
    console.log(`created ${created.length} endpoints on ${base} in ${Date.now() - started} ms`);
    return { base, created, settings };
  } catch (err) {
    throw new Error(`could not create endpoints on ${base}: ${(err as Error).message}`);
  }
}

/**
 * The `connect` functions' common part: the `index`-th VU of this thread joins endpoint slot
 * `index mod endpoints` (round robin, so each endpoint gets connectionsPerEndpoint peers) and
 * its token goes in the URL. With several relay processes (`TARGETS`, set by the runner's
 * --cluster) each endpoint's connections go round robin over them (processors/lib/targets.ts).
 * Sets context.vars.__slot, __connectStartedAt and the cluster placement (__targetIndex,
 * __targets, __endpointCount); returns the slot. Throws when the `before` hook left no
 * endpoints or TARGETS is not a list of ws:// URLs.
 */
export function joinEndpoint(wsArgs: WsArgs, context: VuContext, index: number): number {
  const settings = readSettings(context.vars);
  const endpoints = endpointsFrom(context.vars);
  // --generators: this process owns endpoints offset .. offset+count-1; frames carry the global
  // slot, so a frame delivered to another generator's endpoint is counted there as misrouted.
  const endpointCount = Math.min(settings.slice.count, endpoints.length);
  const local = index % endpointCount;
  const slot = settings.slice.offset + local;
  const endpoint = endpoints[local];
  const targets = targetsFrom(process.env.TARGETS, resolveTarget(context.vars));
  const targetIndex = targetIndexOf(index, endpointCount, targets.length);
  const target = targets[targetIndex].replace(/\/+$/, '');
  wsArgs.target = `${target}/ws/${encodeURIComponent(endpoint.id)}?token=${encodeURIComponent(endpoint.token)}`;
  context.vars.__slot = slot;
  context.vars.__targetIndex = targetIndex;
  context.vars.__targets = targets.length;
  context.vars.__endpointCount = endpointCount;
  context.vars.__connectStartedAt = nowMs();
  return slot;
}

/** Where this VU sits in a cluster run: its process and how senders map to processes. */
export interface ClusterPlacement {
  targets: number;
  myTarget: number;
  endpointCount: number;
}

/** The placement joinEndpoint stored in context.vars; undefined with one relay process. */
export function clusterPlacementOf(vars: Record<string, unknown>): ClusterPlacement | undefined {
  const targets = Number(vars.__targets ?? 1);
  if (!(targets > 1)) return undefined;
  return {
    targets,
    myTarget: Number(vars.__targetIndex ?? 0),
    endpointCount: Number(vars.__endpointCount),
  };
}

/** Worker threads per generator process the sender ids leave room for. */
const THREADS_PER_GENERATOR = 1_000;

/**
 * A VU's unique sender id across worker threads and generator processes: (generator index,
 * thread id) in the high digits, the thread's VU (or socket) counter below ID_STRIDE, which
 * is what processors/lib/targets.ts reads back to place a sender in a cluster run.
 */
export function senderId(counter: number, generatorIndex = 0): number {
  return (generatorIndex * THREADS_PER_GENERATOR + threadId) * ID_STRIDE + counter;
}

/** Where a thread's delivery figures go. */
export interface DeliverySink {
  stats: WorkerStats;
  /** exact per-thread histograms (the run's figures); its `intended` one only through the field below */
  latency: LatencySet;
  /** latency from the intended send time: recorded into the open interval, added to `latency.intended` at each close */
  intended: IntervalLatency;
  settings: Pick<ScenarioSettings, 'latencyP95LimitMs' | 'latencyP99LimitMs'>;
  /** with several relay processes: split latency into same-process and across-Redis deliveries */
  cluster?: ClusterPlacement;
}

export interface FrameHooks {
  /** after an owed frame arrived (delivered or reordered) */
  onDelivered?: () => void;
  /** the relay answered this socket with an error frame (a reading it did not store) */
  onRefused?: () => void;
}

/**
 * The socket's 'message' listener: stamps the arrival, classifies the frame and books it. Load
 * frames (plain or inside a device reading) go through the receiver's ledger; the relay's own
 * alert and error frames are counted under IOT_COUNTERS, never as deliveries or misroutes;
 * anything else is `extra`.
 */
export function frameListener(receiver: Receiver, sink: DeliverySink, hooks: FrameHooks = {}) {
  const { stats, latency, intended, cluster } = sink;
  const p95Limit = sink.settings.latencyP95LimitMs;
  const p99Limit = sink.settings.latencyP99LimitMs;
  return (data: unknown): void => {
    // Stamp before parsing: our own decode time is not the relay's.
    const arrivedAt = nowMs();
    const incoming = classifyFrame(data);
    if (incoming === 'alert') {
      stats.count(IOT_COUNTERS.alertFrames);
      return;
    }
    if (incoming === 'error') {
      stats.count(IOT_COUNTERS.refused);
      hooks.onRefused?.();
      return;
    }
    if (!incoming) {
      stats.add('extra');
      return;
    }
    const outcome = receiver.receive(
      incoming.endpointSlot,
      incoming.senderId,
      incoming.seq,
      incoming.sentAtMs,
    );
    stats.add(outcome);
    if (outcome === 'reordered') stats.add('delivered');
    if (outcome === 'delivered' || outcome === 'reordered') {
      const fromIntended = arrivedAt - incoming.dueAtMs;
      intended.record(fromIntended);
      recordMs(latency.sent, arrivedAt - incoming.sentAtMs);
      if (cluster) {
        const local =
          senderTargetIndex(incoming.senderId, cluster.endpointCount, cluster.targets) === cluster.myTarget;
        recordMs(local ? latency.local : latency.cross, fromIntended);
      }
      if (fromIntended > p95Limit) stats.add('overP95');
      if (fromIntended > p99Limit) stats.add('overP99');
      hooks.onDelivered?.();
    }
  };
}
