/**
 * Many connections over a relay cluster: can N relay processes sharing Redis hold E endpoints x
 * C connections (e.g. 5,000 x 10 = 50,000 over 3 processes) while clients send R msg/s in total,
 * nothing lost? One process may hold at most `ulimit -n` sockets (20,000 on the project's
 * machine), so both the relays and the load generator are several processes.
 *
 * Plain `ws` 8, no Artillery (Artillery's VUs cost far more memory per connection). The script:
 *  - starts `--relays N` built relay processes (runner/relay-process.ts spawnCluster: one SQLite
 *    file, one Redis, own ports; the first migrates) unless `--targets` names running ones;
 *  - creates the endpoints over REST;
 *  - forks `--generators K` child processes; each owns a contiguous share of the endpoints and
 *    all C connections of each, spread over the relays round-robin (connection r of endpoint s
 *    on relay (s + r) mod N, processIndexOf in processors/lib/targets.ts, as the pack's
 *    --cluster does), so every endpoint has clients on every relay and most deliveries cross
 *    Redis; before opening anything it checks each relay's share against the relay's
 *    descriptor limit (exit 2 when it would not fit); each child binds its sockets to
 *    `--source-addresses` loopback addresses (processors/lib/source-address.ts);
 *  - when every child holds its connections, reads relay_connections from every relay's /metrics,
 *    then all children send their share of R msg/s open-loop for `--seconds` and count what
 *    arrives: expected = frames x (C - 1), latency from the due time for every delivery, split
 *    into same-relay and across-Redis deliveries.
 * Prints one JSON object (and writes it to --json). Exits 1 when a connection failed, was
 * closed by a relay, or a delivery was lost; 2 when a relay it starts could not hold its share.
 *
 *   pnpm build && npx tsx scripts/cluster-connections.ts --relays 3 --endpoints 5000 \
 *     --connections 10 --rate 1000 --seconds 30 --generators 3 --source-addresses 4
 */
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, makePadding, nowMs } from '../processors/lib/frame';
import {
  addInto,
  decodeHistogram,
  encodeHistogram,
  LATENCY_KINDS,
  newLatencySet,
  recordMs,
  summarize,
  type LatencySet,
} from '../processors/lib/latency';
import {
  createEndpoint,
  deleteEndpoint,
  mapLimit,
  type CreatedEndpoint,
} from '../processors/lib/rest-client';
import { restBaseFromTarget } from '../processors/lib/settings';
import { FD_HEADROOM, fdLimits, gaugeValue, sourceAddress } from '../processors/lib/source-address';
import { processIndexOf } from '../processors/lib/targets';
import { installSignalHandlers } from '../runner/cleanup';
import { GroupSampler, summarize as summarizeSamples } from '../runner/proc-sampler';
import { num } from '../runner/options';
import { spawnCluster, type RelayCluster } from '../runner/relay-process';
import { integerAtLeast, positive, scriptArgs } from './script-args';

const REPO_ROOT = path.resolve(__dirname, '..');

/** A request this machine cannot carry out as asked (exit 2, as the runner's usage errors). */
class UsageError extends Error {}

/** What the coordinator hands a generator child. */
interface ChildJob {
  index: number;
  targets: string[];
  endpoints: CreatedEndpoint[];
  /** global slot of endpoints[0] */
  firstSlot: number;
  perEndpoint: number;
  sourceAddresses: number;
  /** connections this child opens at once */
  openConcurrency: number;
  payload: number;
}

type ChildMessage =
  | { type: 'open'; connections: number; failed: number; openMs: number; firstError?: string }
  | {
      type: 'done';
      sent: number;
      expected: number;
      delivered: number;
      foreign: number;
      closedByRelay: number;
      histograms: Record<string, string>;
      cpuPct: number;
    };

type ParentMessage =
  | { type: 'job'; job: ChildJob }
  | { type: 'go'; startAt: number; rate: number; seconds: number; drainMs: number };

interface Conn {
  ws: WebSocket;
  slot: number;
  id: number;
  target: number;
  seq: number;
}

// ---------------------------------------------------------------- generator child

async function child(): Promise<void> {
  // The coordinator is gone (killed): nobody will read the results.
  process.once('disconnect', () => process.exit(1));
  const send = (m: ChildMessage) => process.send?.(m);
  const job = await new Promise<ChildJob>((resolve) =>
    process.once('message', (m: ParentMessage) => m.type === 'job' && resolve(m.job)),
  );
  const conns: Conn[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let closedByRelay = 0;
  let running = true;
  const latency = newLatencySet();
  let delivered = 0;
  let foreign = 0;
  const specs: { slot: number; rank: number; ep: CreatedEndpoint }[] = [];
  job.endpoints.forEach((ep, i) => {
    for (let rank = 0; rank < job.perEndpoint; rank++) specs.push({ slot: job.firstSlot + i, rank, ep });
  });
  const openStarted = nowMs();
  await mapLimit(specs, job.openConcurrency, async ({ slot, rank, ep }, n) => {
    const target = processIndexOf(slot, rank, job.targets.length);
    const url = `${job.targets[target]}/ws/${encodeURIComponent(ep.id)}?token=${encodeURIComponent(ep.token)}`;
    const localAddress = sourceAddress(job.index * 1_000_000 + n, job.sourceAddresses);
    try {
      const ws = await new Promise<WebSocket>((resolve, reject) => {
        const s = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
        s.once('open', () => resolve(s));
        s.once('error', reject);
        s.once('unexpected-response', (_req, res) =>
          reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
        );
      });
      const c: Conn = { ws, slot, id: job.index * 1_000_000 + n + 1, target, seq: 0 };
      // Same process as the sender <=> same relay, since the sender id encodes its rank's relay.
      ws.on('message', (data: Buffer) => {
        const arrivedAt = nowMs();
        const f = decodeFrame(data);
        if (!f || f.endpointSlot !== c.slot || f.senderId === c.id) {
          foreign++;
          return;
        }
        delivered++;
        const fromIntended = arrivedAt - f.dueAtMs;
        recordMs(latency.intended, fromIntended);
        recordMs(latency.sent, arrivedAt - f.sentAtMs);
        recordMs(senderTarget.get(f.senderId) === c.target ? latency.local : latency.cross, fromIntended);
      });
      ws.on('error', () => undefined);
      ws.on('close', () => {
        if (running) closedByRelay++;
      });
      conns.push(c);
      senderTarget.set(c.id, target);
    } catch (err) {
      failed++;
      firstError ??= (err as Error).message;
    }
  });
  send({
    type: 'open',
    connections: conns.length,
    failed,
    openMs: Math.round(nowMs() - openStarted),
    firstError,
  });

  const go = await new Promise<Extract<ParentMessage, { type: 'go' }>>((resolve) =>
    process.on('message', (m: ParentMessage) => m.type === 'go' && resolve(m)),
  );
  const padding = makePadding(job.payload);
  const total = Math.round(go.rate * go.seconds);
  const intervalMs = 1000 / go.rate;
  const cpuBefore = process.cpuUsage();
  let k = 0;
  let expected = 0;
  const peers = new Map<number, number>();
  for (const c of conns) peers.set(c.slot, (peers.get(c.slot) ?? 0) + 1);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = nowMs();
      for (
        let due = go.startAt + k * intervalMs;
        k < total && due <= now;
        due = go.startAt + k * intervalMs
      ) {
        // Spread over endpoints first (stride), so every endpoint sends within a round.
        const c = conns[(k * 7919) % conns.length];
        c.seq++;
        const sentAt = nowMs();
        c.ws.send(
          encodeFrame(
            { endpointSlot: c.slot, senderId: c.id, seq: c.seq, dueAtMs: due, sentAtMs: sentAt },
            padding,
          ),
        );
        expected += (peers.get(c.slot) ?? 1) - 1;
        recordMs(latency.sendLag, sentAt - due);
        k++;
      }
      if (k >= total) return resolve();
      setTimeout(tick, Math.max(0, go.startAt + k * intervalMs - nowMs()));
    };
    setTimeout(tick, Math.max(0, go.startAt - nowMs()));
  });
  const drainUntil = nowMs() + go.drainMs;
  while (delivered < expected && nowMs() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = nowMs() - go.startAt;
  running = false;
  const histograms: Record<string, string> = {};
  for (const kind of LATENCY_KINDS) histograms[kind] = encodeHistogram(latency[kind]);
  send({
    type: 'done',
    sent: k,
    expected,
    delivered,
    foreign,
    closedByRelay,
    histograms,
    cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
  });
  for (const c of conns) c.ws.terminate();
  setTimeout(() => process.exit(0), 200);
}

/** sender id -> relay index of that connection (filled as connections open). */
const senderTarget = new Map<number, number>();

// ---------------------------------------------------------------- coordinator

async function relayConnections(targets: string[], apiKey: string): Promise<(number | null)[]> {
  return Promise.all(
    targets.map(async (t) => {
      try {
        const res = await fetch(`${restBaseFromTarget(t)}/metrics`, {
          headers: { authorization: `Bearer ${apiKey}` },
        });
        return gaugeValue(await res.text(), 'relay_connections') ?? null;
      } catch {
        return null;
      }
    }),
  );
}

/** createEndpoint, retried twice: one refused or timed-out POST on a loaded machine must not end a 50,000-connection run. */
async function createWithRetry(base: string, apiKey: string, name: string): Promise<CreatedEndpoint> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createEndpoint(base, apiKey, name);
    } catch (err) {
      const e = err as Error & { cause?: { message?: string; code?: string } };
      if (attempt >= 3)
        throw new Error(`${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

async function coordinator(): Promise<void> {
  const a = scriptArgs(
    __filename,
    {
      options: {
        relays: { type: 'string', default: '3' },
        targets: { type: 'string' },
        'api-key': { type: 'string', default: process.env.API_KEY },
        redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
        endpoints: { type: 'string', default: '5000' },
        connections: { type: 'string', default: '10' },
        rate: { type: 'string', default: '1000' },
        seconds: { type: 'string', default: '30' },
        generators: { type: 'string', default: '3' },
        'source-addresses': { type: 'string', default: '4' },
        'open-concurrency': { type: 'string', default: '100' },
        payload: { type: 'string', default: '128' },
        'drain-ms': { type: 'string', default: '5000' },
        json: { type: 'string' },
      },
    },
    ({ values: v }) => ({
      relays: num('--relays', v.relays, integerAtLeast(1), 'an integer >= 1')!,
      targets: v.targets,
      apiKey: v['api-key'],
      redis: v.redis!,
      endpoints: num('--endpoints', v.endpoints, integerAtLeast(1), 'an integer >= 1')!,
      // One connection alone has nobody to deliver to.
      connections: num('--connections', v.connections, integerAtLeast(2), 'an integer >= 2')!,
      rate: num('--rate', v.rate, positive, 'a positive number (msg/s)')!,
      seconds: num('--seconds', v.seconds, positive, 'a positive number of seconds')!,
      generators: num('--generators', v.generators, integerAtLeast(1), 'an integer >= 1')!,
      sourceAddresses: num(
        '--source-addresses',
        v['source-addresses'],
        integerAtLeast(1),
        'an integer >= 1',
      )!,
      openConcurrency: num(
        '--open-concurrency',
        v['open-concurrency'],
        integerAtLeast(1),
        'an integer >= 1',
      )!,
      payload: num('--payload', v.payload, integerAtLeast(0), 'an integer number of bytes >= 0')!,
      drainMs: num('--drain-ms', v['drain-ms'], integerAtLeast(0), 'an integer number of ms >= 0')!,
      json: v.json,
    }),
  );
  // Ctrl-C / SIGTERM stop the relays this script started (spawnRelay registers them).
  installSignalHandlers();
  const endpointCount = a.endpoints;
  const perEndpoint = a.connections;
  const { generators, rate, seconds } = a;

  let cluster: RelayCluster | undefined;
  let targets: string[];
  let apiKey: string;
  if (a.targets) {
    targets = a.targets.split(',').map((t) => t.trim().replace(/\/+$/, ''));
    apiKey = a.apiKey ?? '';
  } else {
    const t0 = nowMs();
    cluster = await spawnCluster({
      size: a.relays,
      redisUrl: a.redis,
      redisPrefixBase: process.env.REDIS_PREFIX || 'relay-conns:',
      repoRoot: REPO_ROOT,
      entry: 'dist/backend/src/main.js',
      statsMode: 'batched',
      logFile: path.join(process.env.TMPDIR ?? '/tmp', `cluster-connections-${process.pid}.log`),
    });
    targets = cluster.targets;
    apiKey = cluster.apiKey;
    console.error(
      `relays ${cluster.pids.join(', ')} on ${targets.join(', ')} up in ${Math.round(nowMs() - t0)} ms`,
    );
  }
  if (cluster) {
    // A relay past its descriptor limit refuses connects as "socket hang up" and stops answering
    // /metrics; say so before opening anything rather than after a minute of connects.
    const planned = new Array<number>(targets.length).fill(0);
    for (let slot = 0; slot < endpointCount; slot++)
      for (let rank = 0; rank < perEndpoint; rank++) planned[processIndexOf(slot, rank, targets.length)]++;
    const over = cluster.pids.flatMap((pid, i) => {
      let limits: ReturnType<typeof fdLimits> = null;
      try {
        limits = fdLimits(readFileSync(`/proc/${pid}/limits`, 'utf8'));
      } catch {
        return []; // not Linux: nothing to check against
      }
      return limits && planned[i] + FD_HEADROOM > limits.soft
        ? [
            `relay ${i + 1} would hold ${planned[i]} sockets; its limit is ${limits.soft} descriptors (${FD_HEADROOM} kept for files, database and Redis)`,
          ]
        : [];
    });
    if (over.length > 0) {
      await cluster.stopAll();
      throw new UsageError(`${over.join('; ')}: use more --relays`);
    }
  }
  const sampler = cluster ? new GroupSampler(cluster.pids) : undefined;
  sampler?.sample();
  const sampling = setInterval(() => sampler?.sample(), 1000);
  const children: ReturnType<typeof fork>[] = [];
  let endpoints: CreatedEndpoint[] = [];
  try {
    const t0 = nowMs();
    // Spread over the relays: each process's REST path gets its share (one database behind all).
    const bases = targets.map((t) => restBaseFromTarget(t));
    endpoints = await mapLimit(Array.from({ length: endpointCount }), 10 * targets.length, (_x, i) =>
      createWithRetry(bases[i % bases.length], apiKey, `conns-${process.pid}-${i}`),
    );
    const createMs = Math.round(nowMs() - t0);
    console.error(`created ${endpoints.length} endpoints in ${createMs} ms`);

    const share = Math.ceil(endpointCount / generators);
    const opened: Extract<ChildMessage, { type: 'open' }>[] = [];
    const done: Extract<ChildMessage, { type: 'done' }>[] = [];
    const exited: Promise<unknown>[] = [];
    const tOpen = nowMs();
    await new Promise<void>((resolve, reject) => {
      for (let g = 0; g < generators; g++) {
        const c = fork(__filename, ['--child'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
        children.push(c);
        exited.push(new Promise((r) => c.once('exit', r)));
        c.on('message', (m: ChildMessage) => {
          if (m.type === 'open') {
            opened.push(m);
            console.error(`generator ${g}: ${m.connections} open, ${m.failed} failed in ${m.openMs} ms`);
            if (opened.length === generators) resolve();
          } else done.push(m);
        });
        c.once('exit', (code) => {
          if (opened.length < generators)
            reject(new Error(`generator ${g} exited with ${code} before opening`));
        });
        const job: ChildJob = {
          index: g,
          targets,
          endpoints: endpoints.slice(g * share, (g + 1) * share),
          firstSlot: g * share,
          perEndpoint,
          sourceAddresses: a.sourceAddresses,
          openConcurrency: a.openConcurrency,
          payload: a.payload,
        };
        c.send({ type: 'job', job } satisfies ParentMessage);
      }
    });
    const openMs = Math.round(nowMs() - tOpen);
    const heldByRelays = await relayConnections(targets, apiKey);
    console.error(`all open in ${openMs} ms; relay_connections per relay: ${heldByRelays.join(', ')}`);
    const startAt = nowMs() + 1000;
    for (const c of children)
      c.send({
        type: 'go',
        startAt,
        rate: rate / generators,
        seconds,
        drainMs: a.drainMs,
      } satisfies ParentMessage);
    await Promise.all(exited);
    clearInterval(sampling);

    const merged: LatencySet = newLatencySet();
    for (const d of done) {
      const decoded: Partial<LatencySet> = {};
      for (const kind of LATENCY_KINDS) decoded[kind] = decodeHistogram(d.histograms[kind]);
      addInto(merged, decoded);
    }
    const sum = (f: (d: (typeof done)[number]) => number) => done.reduce((x, d) => x + f(d), 0);
    const result = {
      driver: 'scripts/cluster-connections.ts (ws 8, generator processes, open loop)',
      relays: targets.length,
      generators,
      endpoints: endpoints.length,
      connectionsPerEndpoint: perEndpoint,
      connectionsOpened: opened.reduce((x, o) => x + o.connections, 0),
      connectionsFailed: opened.reduce((x, o) => x + o.failed, 0),
      firstConnectError: opened.find((o) => o.firstError)?.firstError,
      relayConnectionsAtPeak: heldByRelays,
      createEndpointsMs: createMs,
      openMs,
      ratePerSec: rate,
      seconds,
      generatorsReported: done.length,
      sent: sum((d) => d.sent),
      expectedDeliveries: sum((d) => d.expected),
      delivered: sum((d) => d.delivered),
      lost: Math.max(0, sum((d) => d.expected) - sum((d) => d.delivered)),
      foreign: sum((d) => d.foreign),
      closedByRelay: sum((d) => d.closedByRelay),
      latencyFromIntendedMs: summarize(merged.intended),
      sameRelayMs: summarize(merged.local),
      acrossRedisMs: summarize(merged.cross),
      sendLagMs: summarize(merged.sendLag),
      generatorCpuPct: done.map((d) => d.cpuPct),
      relayProcesses: sampler?.members.map((m) => summarizeSamples(m.samples)),
      loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    };
    const text = JSON.stringify(result, null, 1);
    if (a.json) writeFileSync(a.json, text);
    console.log(text);
    const ok =
      result.connectionsFailed === 0 &&
      result.closedByRelay === 0 &&
      result.lost === 0 &&
      done.length === generators;
    process.exitCode = ok ? 0 : 1;
  } finally {
    clearInterval(sampling);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    // Relays this script started are stopped and their SQLite file removed: nothing to clean.
    if (!cluster)
      await mapLimit(endpoints, 10 * targets.length, (ep, i) =>
        deleteEndpoint(restBaseFromTarget(targets[i % targets.length]), apiKey, ep.id),
      ).catch(() => undefined);
    await cluster?.stop();
  }
}

(process.argv.includes('--child') ? child() : coordinator()).catch((err: Error) => {
  console.error(err.message);
  process.exit(err instanceof UsageError ? 2 : 1);
});
