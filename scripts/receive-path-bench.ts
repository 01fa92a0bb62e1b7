/**
 * The generator's own cost per delivery, without a relay or a socket: CPU nanoseconds the
 * pack's receive path (processors/lib/vu.ts frameListener: classify, ledger, counters, HDR
 * latency) spends on one delivered frame, and its send-side bookkeeping (Ledger.recordSend, the
 * frame's encoding) per sent frame.
 *
 * Why: at 5,000-8,000 msg/s in (45,000-72,000 deliveries/s) the pack's worker thread runs near a
 * full core, and a change to the per-delivery path moves its share by a few per cent, which
 * end-to-end comparisons (scripts/compare-pack-plain.ts) cannot resolve on a shared 2-core
 * machine. This loop can: same frames, same order, no I/O.
 *
 *   npx tsx scripts/receive-path-bench.ts [--endpoints 50] [--conns 10] [--frames 200000] [--reps 7]
 *     [--payload 256] [--strings]
 *
 * Frames are the throughput scenario's (plain load frames, 256-byte payload, fan-out conns-1),
 * handed to the listener as Buffers, which is what ws 8 gives a text frame (the engine's sockets
 * are ws 8, processors/lib/engine-socket.ts; `--strings` hands strings, as ws 7 did). Prints
 * each rep's ns per delivery and per send (process CPU time, `process.cpuUsage`), then the median.
 * `--conns` at least 2 (a frame needs a receiver). Exits 1 when a rep's accounting is not exact (every frame delivered once, nothing else).
 */
import { encodeFrame, makePadding, nowMs } from '../processors/lib/frame';
import { IntervalLatency, newLatencySet } from '../processors/lib/latency';
import { Ledger, Receiver } from '../processors/lib/ledger';
import { frameListener } from '../processors/lib/vu';
import { WorkerStats } from '../processors/lib/worker-stats';
import { median } from './pack-plain-summary';
import { integerAtLeast, scriptArgs } from './script-args';
import { num } from '../runner/options';

const NUMBERS = { endpoints: 50, conns: 10, frames: 200_000, reps: 7, payload: 256 } as const;

const args = scriptArgs(
  __filename,
  {
    options: {
      ...(Object.fromEntries(
        Object.entries(NUMBERS).map(([name, fallback]) => [
          name,
          { type: 'string', default: String(fallback) },
        ]),
      ) as Record<keyof typeof NUMBERS, { type: 'string'; default: string }>),
      strings: { type: 'boolean', default: false },
    },
  },
  ({ values }) => {
    const n = (name: keyof typeof NUMBERS, min: number) =>
      num(`--${name}`, values[name], integerAtLeast(min), `an integer >= ${min}`)!;
    return {
      endpoints: n('endpoints', 1),
      conns: n('conns', 2),
      frames: n('frames', 1),
      reps: n('reps', 1),
      payload: n('payload', 0),
      strings: values.strings === true,
    };
  },
);

interface Rep {
  nsPerDelivery: number;
  nsPerSend: number;
  deliveries: number;
}

function rep(): Rep {
  const { endpoints, conns, frames, payload } = args;
  const ledger = new Ledger();
  const latency = newLatencySet();
  const intended = new IntervalLatency(latency.intended);
  const stats = new WorkerStats(intended, undefined);
  const settings = { latencyP95LimitMs: 100, latencyP99LimitMs: 250 };
  const padding = makePadding(payload);
  const joinedAt = nowMs() - 1000;
  const members: Array<Array<{ receiver: Receiver; listen: (data: unknown) => void }>> = [];
  for (let e = 0; e < endpoints; e++) {
    const list = [];
    for (let c = 0; c < conns; c++) {
      const receiver = new Receiver(e * conns + c + 1, e);
      ledger.join(receiver, joinedAt);
      list.push({ receiver, listen: frameListener(receiver, { stats, latency, intended, settings }) });
    }
    members.push(list);
  }
  const seqs = new Array<number>(endpoints * conns).fill(0);
  let sendNs = 0n;
  let deliverNs = 0n;
  let deliveries = 0;
  // Batches of one frame per endpoint: send side (owe + encode) timed apart from the receive side.
  const batch: Array<{ e: number; sender: number; data: string | Buffer }> = [];
  for (let sent = 0; sent < frames;) {
    batch.length = 0;
    const s0 = process.cpuUsage();
    for (let e = 0; e < endpoints && sent < frames; e++, sent++) {
      const c = sent % conns;
      const sender = members[e][c].receiver;
      const seq = ++seqs[sender.id - 1];
      ledger.recordSend(sender, seq);
      const at = nowMs();
      const text = encodeFrame(
        { endpointSlot: e, senderId: sender.id, seq, dueAtMs: at, sentAtMs: at },
        padding,
      );
      batch.push({ e, sender: c, data: args.strings ? text : Buffer.from(text, 'latin1') });
    }
    const s1 = process.cpuUsage(s0);
    sendNs += BigInt(s1.user + s1.system) * 1000n;
    const r0 = process.cpuUsage();
    for (const { e, sender, data } of batch) {
      const list = members[e];
      for (let c = 0; c < list.length; c++) if (c !== sender) list[c].listen(data);
      deliveries += list.length - 1;
    }
    const r1 = process.cpuUsage(r0);
    deliverNs += BigInt(r1.user + r1.system) * 1000n;
  }
  stats.stopTimers();
  let delivered = 0;
  let outstanding = 0;
  for (const list of members)
    for (const { receiver } of list) {
      delivered += receiver.totals.delivered;
      outstanding += receiver.outstanding();
      const t = receiver.totals;
      if (t.duplicated + t.misrouted + t.extra + t.uncounted > 0) outstanding = -1;
    }
  if (delivered !== deliveries || outstanding !== 0) {
    console.error(
      `accounting not exact: ${delivered} delivered of ${deliveries}, outstanding ${outstanding}`,
    );
    process.exit(1);
  }
  return {
    nsPerDelivery: Number(deliverNs) / deliveries,
    nsPerSend: Number(sendNs) / frames,
    deliveries,
  };
}

const results: Rep[] = [];
// One unmeasured rep so the optimising compiler has seen the path.
rep();
for (let i = 0; i < args.reps; i++) {
  const r = rep();
  results.push(r);
  console.log(
    `rep ${i + 1}: ${r.nsPerDelivery.toFixed(0)} ns/delivery, ${r.nsPerSend.toFixed(0)} ns/send (${r.deliveries} deliveries)`,
  );
}
console.log(
  `median: ${median(results.map((r) => r.nsPerDelivery)).toFixed(0)} ns/delivery, ${median(results.map((r) => r.nsPerSend)).toFixed(0)} ns/send`,
);
