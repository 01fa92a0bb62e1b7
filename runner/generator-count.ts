/**
 * How many Artillery processes (generators) a scenario runs on: `--generators <n>` as given, or,
 * by default (`auto`), as many as the scenario's frame rate and connection count need.
 *
 * A generator is one Artillery process whose one worker thread does all of its share's frame
 * work: every send and every delivery of its endpoints (processors/relay.ts). Once that thread
 * nears a full core, its own queueing, not the relay, makes the latencies: frames leave late
 * and wait behind each other's reads. Splitting whole endpoints over processes keeps the loss
 * accounting exact (runner/scenario.ts generatorParts) and gives each thread headroom.
 *
 * Where FRAME_EVENTS_PER_GENERATOR comes from (docs/performance/README.md, "Generators by frame
 * rate"; 50 x 10, relay beside the pack on the project's 2-core machine, against an independent
 * plain-ws driver on the same relay build): at 8,000 msg/s in (8,000 sends and 72,000 deliveries
 * a second) one generator's worker ran at 0.89-0.91 cores and the pack's p95 was 1.38-2.65x the
 * driver's; two generators ran at 0.45-0.51 cores each and measured 0.67-1.19x. At 5,000 msg/s
 * (50,000 sends and deliveries a second) two generators did no better than one (their workers
 * waited 190-290 ms a second for a core that three busy processes share), so a second process
 * is started only past 60,000, where one worker nears its core (0.6-0.9 cores at 50,000 on the
 * machines measured).
 *
 * Why a relay on this machine takes a core from that count (RELAY_CORES_RESERVED): on two cores
 * with the relay beside, two generators at 8,000 msg/s leave three busy threads for two cores;
 * each worker then waited 254-354 ms a second for one, and in four interleaved pairs (fifteenth
 * session, docs/performance/README.md "One generator beside the relay on two cores") the pack's p95
 * was 17.5-34.8 ms on two generators against 13.9-19.6 ms on one (medians 22.8 and 16.4; the
 * driver's 7.3-18.4 ms beside them; by the ratio to the driver a tie, 1.81 against 1.78). Over every
 * pair at 8,000 from the tenth session through the fifteenth on that machine kind, two generators
 * were within 1.5x of the driver in 4 of 28 pairs, one in 9 of 18 (the tenth session's own set had
 * favoured two: 6 of 8 against 1 of 3). On the fifteenth session's slower machine neither held
 * 1.5x there by the medians (one: 1.57 and 1.94 in two sets of five; two: 1.96); on a faster day
 * of the same kind (sixteenth session, "8,000 and 10,000 msg/s on one generator beside the relay")
 * one generator did, at 8,000 (1.47 and 1.23; 9 of its 16 pairs) and 10,000 msg/s (1.00 and
 * 1.24), and kept 10,000 valid in `pnpm test:performance`.
 */
import { availableParallelism } from 'node:os';
import type { ScenarioPlan } from './results';

/**
 * Relay processes on the generator's machine, as `auto` counts them: every pid the runner samples
 * as the relay's (its own relay, each process of its --cluster, or the one --relay-pid names), and
 * at least one when the target's host is a loopback address (localhost, 127.0.0.0/8, ::1), since
 * such a relay is here even when no pid was given. `target` is a ws/wss/http URL; one that does not
 * parse counts by its pids alone.
 */
export function localRelayCount(relayPids: readonly number[], target: string): number {
  let host = '';
  try {
    host = new URL(target).hostname.replace(/^\[|\]$/g, '');
  } catch {
    // Not a URL: nothing to say about where it points.
  }
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  return Math.max(relayPids.length, loopback ? 1 : 0);
}

/** --generators: a count, or `auto` (the default): generatorsFor decides per scenario. */
export type GeneratorRequest = number | 'auto';

/** Sends plus deliveries a second that one generator is given at most under `auto`. */
export const FRAME_EVENTS_PER_GENERATOR = 60_000;

/**
 * Cores `auto` leaves to each relay process on this machine when it splits by frame rate: a
 * relay forwarding the frames a split exists for is a busy thread of its own.
 */
export const RELAY_CORES_RESERVED = 1;

/**
 * Connections (VUs) one generator is given at most under `auto`: one Artillery process with
 * 19,000 VUs stalled for most of a second at a time, two with 9,500 each held every connection
 * (connections-19k, 2026-11-30; docs/performance/bottleneck-analysis.md).
 */
export const CONNECTIONS_PER_GENERATOR = 10_000;

/**
 * Sends plus deliveries per second at the plan's busiest step: each frame is one send and one
 * delivery to every other connection of its endpoint, so rate x connectionsPerEndpoint.
 */
export function frameEventsPerSecond(plan: Pick<ScenarioPlan, 'steps' | 'connectionsPerEndpoint'>): number {
  const peak = plan.steps.reduce((m, s) => Math.max(m, s.ratePerSecond), 0);
  return peak * plan.connectionsPerEndpoint;
}

/** What a scenario gets: the process count, and why it differs from what was asked (a warning) or how auto chose it (a note). */
export interface GeneratorSplit {
  generators: number;
  warning?: string;
  note?: string;
}

/**
 * The generator count for a scenario with `endpoints` endpoints whose processor can
 * (`sliceable`) or cannot be split over processes.
 *
 * - a number: kept, capped at `endpoints` (each generator owns whole endpoints), 1 for a
 *   processor that cannot be split; a cap or fallback comes with a warning.
 * - `auto`: the larger of ceil(frameEventsPerSecond / FRAME_EVENTS_PER_GENERATOR) and
 *   ceil(connections / CONNECTIONS_PER_GENERATOR), at least 1, at most one per core (`cores`,
 *   default os.availableParallelism()) and at most `endpoints`; 1 for a processor that cannot be
 *   split. The frame-rate count is further held to the cores the `localRelays` relay processes
 *   on this machine leave (RELAY_CORES_RESERVED each; at least 1); the connection count is not,
 *   since holding connections is what one process cannot do at all past
 *   CONNECTIONS_PER_GENERATOR, not a matter of speed. The note says how it was chosen whenever
 *   more than one was wanted (also when the caps leave one).
 *
 * `localRelays`: relay processes running on this machine (localRelayCount); 0 for a relay
 * elsewhere.
 */
export function generatorsFor(
  request: GeneratorRequest,
  plan: Pick<ScenarioPlan, 'steps' | 'connectionsPerEndpoint' | 'endpoints'>,
  sliceable: boolean,
  cores = availableParallelism(),
  localRelays = 0,
): GeneratorSplit {
  const { endpoints } = plan;
  if (request === 'auto') {
    if (!sliceable) return { generators: 1 };
    const events = frameEventsPerSecond(plan);
    const connections = endpoints * plan.connectionsPerEndpoint;
    const byFrames = Math.ceil(events / FRAME_EVENTS_PER_GENERATOR);
    const byConnections = Math.ceil(connections / CONNECTIONS_PER_GENERATOR);
    const wanted = Math.max(1, byFrames, byConnections);
    const fit = (n: number) => Math.max(1, Math.min(n, cores, endpoints));
    const relayFree = Math.max(1, cores - localRelays * RELAY_CORES_RESERVED);
    const generators = fit(Math.max(Math.min(byFrames, relayFree), byConnections));
    if (wanted === 1) return { generators };
    const en = (n: number) => Math.round(n).toLocaleString('en-US');
    const why =
      byFrames >= byConnections
        ? `${en(events)} sends and deliveries a second at most, one generator per ${en(FRAME_EVENTS_PER_GENERATOR)}`
        : `${en(connections)} connections, one generator per ${en(CONNECTIONS_PER_GENERATOR)}`;
    const capped =
      generators < wanted
        ? generators < fit(wanted)
          ? ` (${wanted} wanted, capped at ${generators}: the frame-rate count held to ${relayFree} of ${cores} cores for ${localRelays} relay process${localRelays === 1 ? '' : 'es'} on this machine)`
          : ` (${wanted} wanted, capped at ${generators}: at most one per core, and whole endpoints each)`
        : '';
    return { generators, note: `generators: ${generators}, auto: ${why}${capped}` };
  }
  if (request <= 1) return { generators: 1 };
  if (!sliceable)
    return {
      generators: 1,
      warning: `--generators ${request} ignored: this scenario's processor cannot be split over processes (one generator)`,
    };
  if (request > endpoints)
    return {
      generators: endpoints,
      warning: `--generators ${request} capped at ${endpoints}: each generator owns whole endpoints`,
    };
  return { generators: request };
}
