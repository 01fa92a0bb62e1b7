/**
 * The Story 9.3 section of docs/performance/bottleneck-analysis.md: CPU profiles of two relay
 * builds (before and after the broadcast work) under the same throughput scenario, and the
 * connections run with the numbers that plan 50,000 connections on one machine.
 */
import { loadConfig } from '../../../backend/src/config';
import type { ScenarioResult } from '../../results';
import { loadPasses, type RunFile } from '../load';

/** Connections a planned deployment must hold (the target for one machine). */
export const PLANNED_CONNECTIONS = 50_000;
/** The memory aim for PLANNED_CONNECTIONS, MB. */
export const PLANNED_RSS_AIM_MB = 1536;
/** HEARTBEAT_SLOTS's default until the relay published relay_heartbeat_slots (then 300). */
const SLOTS_BEFORE_GAUGE = 30;

/**
 * Ephemeral ports per (source address, destination) pair: Linux's default
 * net.ipv4.ip_local_port_range, 32768-60999 (`cat /proc/sys/net/ipv4/ip_local_port_range`).
 */
export const EPHEMERAL_PORTS = 60999 - 32768 + 1;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
/** Which relay build a run measured: the entry the runner started (a build in another tree has another path). */
const relayOf = (run: RunFile) => run.meta.relayEntry ?? 'external relay';
/** The commit of the tree the entry came from; runs before the runner recorded it have none. */
const commitOf = (run: RunFile) => run.meta.relayGitCommit ?? null;
/**
 * prom-client resets its event-loop monitor at every scrape, and the connections processor polls
 * /metrics while it waits for sockets to close, so the scrape after such a scenario may cover a
 * window with no samples (max 0): that is "not measured", not "no delay".
 */
const loopMs = (ms: number | null | undefined) => (ms ? ms : null);

/**
 * Seconds of CPU the relay process used during the scenario, from the runner's /proc samples
 * (`resources.relayCpu`: % of one core over the interval since the previous sample, `t` in s).
 * The first sample has no interval before it and is left out. Unlike the profile's busy time
 * this is CPU the kernel charged to the process, so it does not grow while the process waits
 * for a core on a loaded machine.
 */
export function relayCpuSeconds(s: Pick<ScenarioResult, 'resources'>): number {
  const { t, relayCpu } = s.resources;
  let sum = 0;
  for (let i = 1; i < t.length; i++) {
    const pct = relayCpu[i];
    if (pct !== null && relayCpu[i - 1] !== null) sum += (pct / 100) * (t[i] - t[i - 1]);
  }
  return sum;
}

/** One --cpu-prof run: what the relay delivered and what CPU it spent per delivery. */
function profileRow(run: RunFile, s: ScenarioResult) {
  const profile = run.cpuProfile!.summary;
  const deliveries = s.relayMetrics?.deliveries ?? 0;
  const cpuSeconds = relayCpuSeconds(s);
  return {
    runId: run.meta.runId,
    command: run.meta.command,
    relay: relayOf(run),
    commit: commitOf(run),
    loadAvg: run.meta.machine.loadAvgAtStart?.[0] ?? null,
    scenario: s.name,
    status: s.status,
    // Artillery did not finish (e.g. killed at its deadline): the delivery count is partial.
    complete: s.status !== 'error',
    reasons: s.status === 'error' ? [s.error ?? 'error'] : (s.invalidReasons ?? []),
    targetRate: s.plan.targetRatePerSec,
    sentPerSec: s.sentPerSec,
    framesReceived: s.relayMetrics?.framesReceived ?? null,
    deliveries,
    p95: s.latency?.p95 ?? null,
    lost: s.frames.lost,
    cpuSeconds: round(cpuSeconds, 1),
    usPerDelivery: deliveries > 0 ? round((cpuSeconds * 1e6) / deliveries, 1) : null,
    busyMs: profile.busyMs,
    // The profile spans the relay's whole life (start, set-up, the scenario, shutdown), and V8
    // samples by wall clock, so a process waiting for a core accrues "busy" time: an upper bound.
    profileUsPerDelivery: deliveries > 0 ? round((profile.busyMs * 1000) / deliveries, 1) : null,
    byArea: profile.byArea,
    top: profile.top.slice(0, 10),
  };
}

/**
 * Mean µs of relay CPU per delivery of each relay build at each planned rate, in the order the
 * pairs first appear, over its complete runs (runs at different rates are not averaged together).
 */
function perRelay(rows: ReturnType<typeof profileRow>[]) {
  const key = (r: ReturnType<typeof profileRow>) => `${r.relay}\u0000${r.targetRate}`;
  const groups = [...new Map(rows.map((r) => [key(r), r] as const)).values()];
  return groups.map((first) => {
    const xs = rows
      .filter((r) => key(r) === key(first) && r.complete && r.usPerDelivery !== null)
      .map((r) => r.usPerDelivery!);
    return {
      relay: first.relay,
      targetRate: first.targetRate,
      runs: xs.length,
      usPerDelivery: xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 2) : null,
      min: xs.length ? Math.min(...xs) : null,
      max: xs.length ? Math.max(...xs) : null,
    };
  });
}

/** One connections run: memory per connection, event-loop delay, whether every socket held. */
function connectionsRow(run: RunFile, s: ScenarioResult) {
  const cfg = loadConfig(run.meta.relaySettings ?? {});
  const rssStartMb = s.resources.relayRssMb.find((x): x is number => x !== null) ?? null;
  const rssPeakMb = s.relay?.rssPeakMb ?? null;
  const conns = s.peakOpenConnections;
  const kbPerConn =
    rssStartMb !== null && rssPeakMb !== null && conns > 0
      ? round(((rssPeakMb - rssStartMb) * 1024) / conns)
      : null;
  // The relay publishes the slots it ran with; runs of relays before that gauge ran with
  // HEARTBEAT_SLOTS from their environment or the default of that time.
  const slots =
    s.relayMetrics?.heartbeatSlots ??
    (run.meta.relaySettings?.HEARTBEAT_SLOTS !== undefined ? cfg.HEARTBEAT_SLOTS : SLOTS_BEFORE_GAUGE);
  const loop = s.relayMetrics?.eventLoop;
  const projectedRssMb =
    kbPerConn !== null && rssStartMb !== null ? rssStartMb + (kbPerConn * PLANNED_CONNECTIONS) / 1024 : null;
  return {
    runId: run.meta.runId,
    command: run.meta.command,
    relay: relayOf(run),
    commit: commitOf(run),
    loadAvg: run.meta.machine.loadAvgAtStart?.[0] ?? null,
    scenario: s.name,
    status: s.status,
    reasons: s.status === 'error' ? [s.error ?? 'error'] : (s.invalidReasons ?? []),
    planned: s.plan.connections,
    peak: conns,
    // The peak can exceed the plan by a few sockets (conn-19k-3: 19,002 of 19,000); at least the plan is held.
    held: conns >= s.plan.connections && s.vusers.failed === 0,
    failedVus: s.vusers.failed,
    sentPerSec: s.sentPerSec,
    lost: s.frames.lost,
    p95: s.latency?.p95 ?? null,
    p99: s.latency?.p99 ?? null,
    rssStartMb,
    rssPeakMb,
    kbPerConn,
    eventLoopMaxMs: loopMs(loop?.maxMs),
    eventLoopP99Ms: loopMs(loop?.maxMs) ? (loop?.p99Ms ?? null) : null,
    heartbeatTerminations: s.relayMetrics?.heartbeatTerminations ?? null,
    heartbeat: {
      intervalMs: cfg.HEARTBEAT_INTERVAL_MS,
      slots,
      slotMs: round(cfg.HEARTBEAT_INTERVAL_MS / slots, 0),
      pingsPerSlot: Math.ceil(conns / slots),
    },
    plan: {
      connections: PLANNED_CONNECTIONS,
      fds: PLANNED_CONNECTIONS,
      sourceAddresses: Math.ceil(PLANNED_CONNECTIONS / EPHEMERAL_PORTS),
      ephemeralPorts: EPHEMERAL_PORTS,
      rssMb: projectedRssMb !== null ? round(projectedRssMb, 0) : null,
      rssAimMb: PLANNED_RSS_AIM_MB,
      withinAim: projectedRssMb !== null ? projectedRssMb <= PLANNED_RSS_AIM_MB : null,
      pingsPerSlot: Math.ceil(PLANNED_CONNECTIONS / slots),
    },
  };
}

/**
 * The section's view from loaded passes: every pass with a CPU profile is a profile run (its
 * first scenario with /metrics figures), every pass with a `connections` scenario a connections
 * run. Throws when there is neither.
 */
export function broadcastPathView(runs: RunFile[], generatedAt = new Date().toISOString()) {
  const profiles = runs.flatMap((run) => {
    const s = run.scenarios.find((x) => x.relayMetrics && x.family !== 'connections');
    return run.cpuProfile && s ? [profileRow(run, s)] : [];
  });
  const connections = runs.flatMap((run) =>
    run.scenarios
      .filter((s) => s.family === 'connections' && s.relayMetrics)
      .map((s) => connectionsRow(run, s)),
  );
  if (profiles.length === 0 && connections.length === 0)
    throw new Error('none of these runs has a CPU profile or a connections scenario with /metrics figures');
  return {
    generatedAt,
    profiles,
    relays: perRelay(profiles),
    connections,
    // One plan, from the last run given in which every connection held: the runs differ in
    // settings and load, and a plan per run repeated the same table.
    planFrom: connections.filter((c) => c.held).at(-1) ?? null,
    plannedConnections: PLANNED_CONNECTIONS,
  };
}

/** The section from run directories (each a run or a --mode both run's passes). */
export function broadcastPathViewOf(runDirs: string[], generatedAt: string) {
  return broadcastPathView(loadPasses(runDirs), generatedAt);
}
