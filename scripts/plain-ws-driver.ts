/**
 * Independent open-loop driver: the yardstick for the Artillery pack's latency figures.
 *
 * Plain `ws` 8 in one Node process, no Artillery: creates E endpoints over REST,
 * opens C connections to each, then sends at a fixed aggregate rate from one
 * timetable for the run (--schedule, below: which connection sends when) and
 * records, for every delivery, the latency from the frame's due time (no
 * coordinated omission) and from its actual send, in HDR histograms. Frames use
 * the pack's wire format (processors/lib/frame.ts) so both carry the same bytes.
 *
 * The schedule decides what the relay sees, so it must match the pack's traffic:
 * - `--schedule phases` (default): the pack's model (processors/lib/schedule.ts). Every
 *   connection sends every E*C/rate seconds from its own random phase, so frames of
 *   unrelated endpoints interleave and clump by chance as independent senders do.
 * - `--schedule shuffled`: frames exactly 1/rate apart, from a random permutation of the
 *   connections, repeated: the same interleaving, without the clumps.
 * - `--schedule endpoint-major`: frames 1/rate apart from the connections endpoint by
 *   endpoint (all C of one endpoint, then the next; the driver's only order before
 *   2026-11-30). An endpoint's C frames leave back to back, a recipient gets several in one
 *   relay turn and the relay writes them with one syscall (its write coalescer): at 5,000
 *   msg/s in that halved the relay's CPU (2.5 deliveries per write syscall against 1, perf
 *   stat on the relay), so it flatters the relay and is kept only to show that.
 *
 * `--window-dir <dir> --window-index <i> --window-parties <n>` start the send window with the
 * pack's generator processes instead of on the driver's own: the driver publishes its start in
 * `dir` as party `i` of `n` and all start at the latest (processors/lib/window-barrier.ts, the
 * barrier of `--generators`). scripts/compare-pack-plain.ts --paired uses it to run the driver and
 * the pack at the same time against one relay, each on its own endpoints.
 *
 * `--progress-file <path>` (emptied at start) gets one JSON line a second while frames arrive, in the fields of
 * the pack's progress lines (processors/lib/worker-stats.ts): `t` (epoch ms), `delivered`, and
 * `latencyHdr`, that second's latency from the intended send time (compressed base64 HDR, µs).
 * scripts/per-second-latency.ts reads either tool's file: where in the run a tail came from.
 *
 * Usage:
 *   npx tsx scripts/plain-ws-driver.ts --target ws://127.0.0.1:8080 --api-key KEY \
 *     [--rate 5000] [--seconds 20] [--endpoints 50] [--connections 10] [--payload 128]
 *     [--schedule phases|shuffled|endpoint-major] [--json out.json] [--progress-file FILE]
 *     [--window-dir DIR --window-index I --window-parties N]
 * Prints one JSON object (also written to --json): rate, window start (epoch ms), counts, both latencies (ms), send lag, CPU.
 * Exits 1 when a connection fails or the relay closes one during the run.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, makePadding, nowMs } from '../processors/lib/frame';
import { IntervalLatency, newLatencySet, recordMs, summarize } from '../processors/lib/latency';
import {
  createEndpoint,
  deleteEndpoint,
  mapLimit,
  type CreatedEndpoint,
} from '../processors/lib/rest-client';
import { restBaseFromTarget } from '../processors/lib/settings';
import { num, oneOf } from '../runner/options';
import { DRIVER_SCHEDULES, type DriverSchedule } from './driver-schedules';
import { integerAtLeast, positive, scriptArgs } from './script-args';
import { makeWindowBarrier } from '../processors/lib/window-barrier';

const cli = scriptArgs(
  __filename,
  {
    options: {
      target: { type: 'string', default: process.env.TARGET ?? 'ws://127.0.0.1:8080' },
      'api-key': { type: 'string', default: process.env.API_KEY },
      rate: { type: 'string', default: '5000' },
      seconds: { type: 'string', default: '20' },
      endpoints: { type: 'string', default: '50' },
      connections: { type: 'string', default: '10' },
      payload: { type: 'string', default: '128' },
      'settle-ms': { type: 'string', default: '1000' },
      'drain-ms': { type: 'string', default: '3000' },
      schedule: { type: 'string', default: 'phases' },
      json: { type: 'string' },
      'progress-file': { type: 'string' },
      'window-dir': { type: 'string' },
      'window-index': { type: 'string' },
      'window-parties': { type: 'string' },
    },
  },
  ({ values: a }) => ({
    window: windowOf(a['window-dir'], a['window-index'], a['window-parties']),
    target: a.target!.replace(/\/+$/, ''),
    apiKey: a['api-key'],
    rate: num('--rate', a.rate, positive, 'a positive number (msg/s)')!,
    seconds: num('--seconds', a.seconds, positive, 'a positive number of seconds')!,
    endpoints: num('--endpoints', a.endpoints, integerAtLeast(1), 'an integer >= 1')!,
    // One connection alone has nobody to deliver to.
    connections: num('--connections', a.connections, integerAtLeast(2), 'an integer >= 2')!,
    payload: num('--payload', a.payload, integerAtLeast(0), 'an integer number of bytes >= 0')!,
    settleMs: num('--settle-ms', a['settle-ms'], integerAtLeast(0), 'an integer number of ms >= 0')!,
    drainMs: num('--drain-ms', a['drain-ms'], integerAtLeast(0), 'an integer number of ms >= 0')!,
    schedule: oneOf('--schedule', a.schedule, DRIVER_SCHEDULES, 'phases'),
    json: a.json,
    progressFile: a['progress-file'],
  }),
);
const { rate, seconds, target } = cli;

/**
 * The shared window's place, or undefined without --window-dir. Throws (exit 2) when only some
 * of the three are given, fewer than 2 parties, or an index outside [0, parties).
 */
function windowOf(
  dir: string | undefined,
  index: string | undefined,
  parties: string | undefined,
): { dir: string; index: number; parties: number } | undefined {
  if (dir === undefined && index === undefined && parties === undefined) return undefined;
  if (dir === undefined || index === undefined || parties === undefined)
    throw new Error('--window-dir, --window-index and --window-parties go together');
  const n = num('--window-parties', parties, integerAtLeast(2), 'an integer >= 2')!;
  const i = num('--window-index', index, (x) => integerAtLeast(0)(x) && x < n, `an integer in [0, ${n})`)!;
  return { dir, index: i, parties: n };
}
const endpointCount = cli.endpoints;
const perEndpoint = cli.connections;

interface Conn {
  ws: WebSocket;
  slot: number;
  id: number;
  seq: number;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/**
 * The run's timetable, sorted by due time: frame i is due at `at[i]` (ms after the start) from
 * connection `conn[i]`. `n` connections, aggregate `rate` msg/s, `seconds` long.
 */
function timetable(
  kind: DriverSchedule,
  n: number,
  rate: number,
  seconds: number,
): { at: Float64Array; conn: Int32Array } {
  const endMs = seconds * 1000;
  if (kind === 'phases') {
    // Connection c's frame j (1-based) is due at (j - phase_c) * period, as in SendSchedule.
    const period = (1000 * n) / rate;
    const times: number[] = [];
    const owners: number[] = [];
    for (let c = 0; c < n; c++) {
      const phase = Math.random();
      for (let t = (1 - phase) * period; t <= endMs; t += period) {
        times.push(t);
        owners.push(c);
      }
    }
    const idx = Array.from(times.keys()).sort((x, y) => times[x] - times[y]);
    return { at: Float64Array.from(idx, (i) => times[i]), conn: Int32Array.from(idx, (i) => owners[i]) };
  }
  const order = Array.from({ length: n }, (_, i) => i);
  if (kind === 'shuffled') {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  const total = Math.round(rate * seconds);
  return {
    at: Float64Array.from({ length: total }, (_, k) => (k * 1000) / rate),
    conn: Int32Array.from({ length: total }, (_, k) => order[k % n]),
  };
}

async function main(): Promise<void> {
  const base = restBaseFromTarget(target);
  const tag = `plain-${process.pid}`;
  const endpoints: CreatedEndpoint[] = await mapLimit(Array.from({ length: endpointCount }), 10, (_x, i) =>
    createEndpoint(base, cli.apiKey, `${tag}-${i}`),
  );
  const latency = newLatencySet();
  // As in the pack's worker: each delivery goes into the open second's histogram, added into
  // the run's when the second closes (the same one HDR record per delivery either way).
  const intended = new IntervalLatency(latency.intended);
  let deliveredThisSecond = 0;
  const closeSecond = (): void => {
    const latencyHdr = intended.close(cli.progressFile !== undefined);
    if (latencyHdr && cli.progressFile)
      appendFileSync(
        cli.progressFile,
        `${JSON.stringify({ t: Date.now(), delivered: deliveredThisSecond, latencyHdr })}\n`,
      );
    deliveredThisSecond = 0;
  };
  // One run per file: a file left by an earlier run would shift every second of this one.
  if (cli.progressFile) writeFileSync(cli.progressFile, '');
  const secondly = setInterval(closeSecond, 1000);
  let delivered = 0;
  let foreign = 0;
  let running = true;
  let failure: string | undefined;

  const conns: Conn[] = [];
  for (let slot = 0; slot < endpoints.length; slot++) {
    const ep = endpoints[slot];
    const url = `${target}/ws/${encodeURIComponent(ep.id)}?token=${encodeURIComponent(ep.token)}`;
    const opened = await Promise.all(Array.from({ length: perEndpoint }, () => open(url)));
    for (const ws of opened) conns.push({ ws, slot, id: conns.length + 1, seq: 0 });
  }
  for (const c of conns) {
    c.ws.on('message', (data: Buffer) => {
      const arrivedAt = nowMs();
      const f = decodeFrame(data);
      if (!f || f.endpointSlot !== c.slot || f.senderId === c.id) {
        foreign++;
        return;
      }
      delivered++;
      deliveredThisSecond++;
      intended.record(arrivedAt - f.dueAtMs);
      recordMs(latency.sent, arrivedAt - f.sentAtMs);
    });
    c.ws.on('close', () => {
      if (running) failure ??= `relay closed connection ${c.id}`;
    });
  }
  await new Promise((r) => setTimeout(r, cli.settleMs));

  const plan = timetable(cli.schedule, conns.length, rate, seconds);
  const total = plan.at.length;
  const padding = makePadding(cli.payload);
  // With a shared window, every party starts at the latest start any of them proposed. The
  // driver proposes far enough ahead that a party polling the barrier (every 50 ms) sees the
  // agreement before the window opens, should the driver's proposal be the latest.
  const start = cli.window
    ? await makeWindowBarrier(cli.window.dir, cli.window.index, cli.window.parties)(nowMs() + 500)
    : nowMs() + 10;
  const cpuBefore = process.cpuUsage();
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = nowMs();
      for (; k < total && start + plan.at[k] <= now; k++) {
        const due = start + plan.at[k];
        const c = conns[plan.conn[k]];
        c.seq++;
        const sentAt = nowMs();
        c.ws.send(
          encodeFrame(
            { endpointSlot: c.slot, senderId: c.id, seq: c.seq, dueAtMs: due, sentAtMs: sentAt },
            padding,
          ),
        );
        recordMs(latency.sendLag, sentAt - due);
      }
      if (k >= total) return resolve();
      setTimeout(tick, Math.max(0, start + plan.at[k] - nowMs()));
    };
    tick();
  });
  const expected = total * (perEndpoint - 1);
  const drainUntil = nowMs() + cli.drainMs;
  while (delivered < expected && nowMs() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = nowMs() - start;
  running = false;
  for (const c of conns) c.ws.close();
  await mapLimit(endpoints, 10, (ep) => deleteEndpoint(base, cli.apiKey, ep.id)).catch(() => undefined);

  // Last: frames that arrive while the sockets close count, as they did before the seconds.
  clearInterval(secondly);
  closeSecond();
  const result = {
    driver: 'scripts/plain-ws-driver.ts (ws 8, one process, open loop)',
    target,
    ratePerSec: rate,
    seconds,
    connections: conns.length,
    schedule: cli.schedule,
    // epoch ms the timetable started at (with --window-dir, the start all parties agreed on)
    windowStartMs: start,
    sent: total,
    expectedDeliveries: expected,
    delivered,
    foreign,
    latencyFromIntendedMs: summarize(latency.intended),
    latencyFromSendMs: summarize(latency.sent),
    sendLagMs: summarize(latency.sendLag),
    driverCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    failure,
  };
  const text = JSON.stringify(result, null, 1);
  if (cli.json) writeFileSync(cli.json, text);
  console.log(text);
  process.exit(failure ? 1 : 0);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
