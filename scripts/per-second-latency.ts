/**
 * Where in a run its latency tail came from: second by second, the latency from the intended
 * send time of that second's deliveries, read from a progress file: the pack's
 * (RELAY_PERF_PROGRESS_FILE, one line per generator worker thread per second,
 * processors/lib/worker-stats.ts) or the plain driver's (scripts/plain-ws-driver.ts
 * --progress-file, the same fields).
 *
 *   npx tsx scripts/per-second-latency.ts <progress-file> [--over-ms 15]
 *
 * Prints one row per second (deliveries, p50 / p95 / p99 / max in ms), then the p95 over every
 * second, the p95 after the window's first second, and the seconds whose p95 was over --over-ms
 * (default 15). Why the first second apart: the send window opens in it, with the generator's
 * code and the relay's still cold; over a 20 s hold it holds about a twentieth of the deliveries,
 * which is exactly the share a p95 looks at. A line closes a second of its thread's own clock, so
 * the window opened somewhere inside the first line's second: "after the first second" leaves
 * out the lines of offsets 0 and 1 (below), which hold all of the window's first second and at
 * most its second one too. Exits 1 when the file holds no latency lines, 2 on a bad argument.
 */
import { readFileSync } from 'node:fs';
import { decodeHistogram, newHistogram, summarize, type LatencySummary } from '../processors/lib/latency';
import { num } from '../runner/options';
import { scriptArgs } from './script-args';

/** One second of a run: its offset from the first second (s) and its deliveries' latency. */
export interface SecondLatency {
  offsetS: number;
  latency: LatencySummary;
}

export interface PerSecondLatency {
  seconds: SecondLatency[];
  /** every second's deliveries together (the run's latency from the intended send time, exact) */
  all: LatencySummary | null;
  /**
   * the seconds of offset 2 on: without the window's first second, which lies in offsets 0 and 1
   * (the first line closes a second the window opened in, at an unknown point of it)
   */
  afterFirstSecond: LatencySummary | null;
}

/**
 * Groups a progress file's latency lines (`{"t": epoch ms, "latencyHdr": compressed base64 HDR of
 * µs}`; lines without latencyHdr are skipped) into seconds counted from the first such line: a
 * line belongs to second round((t - t0) / 1000), so the lines of several threads that close their
 * second at slightly different moments fall in one. HDR histograms add exactly, so every figure is
 * exact. Throws naming the line when a line is not JSON or its histogram does not decode.
 */
/** Offsets 0 and 1 hold the window's first second, whatever the phase of the lines' clock. */
const FIRST_SECOND_OFFSETS = 2;

export function perSecondLatency(text: string): PerSecondLatency {
  const lines: { t: number; hdr: string; line: number }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let l: { t?: unknown; latencyHdr?: unknown };
    try {
      l = JSON.parse(raw) as typeof l;
    } catch {
      throw new Error(`line ${i + 1}: not JSON`);
    }
    if (typeof l.t === 'number' && typeof l.latencyHdr === 'string')
      lines.push({ t: l.t, hdr: l.latencyHdr, line: i + 1 });
  });
  lines.sort((a, b) => a.t - b.t);
  const buckets = new Map<number, ReturnType<typeof newHistogram>>();
  const t0 = lines[0]?.t ?? 0;
  for (const l of lines) {
    let h;
    try {
      h = decodeHistogram(l.hdr);
    } catch (err) {
      throw new Error(`line ${l.line}: latencyHdr does not decode (${(err as Error).message})`);
    }
    const s = Math.round((l.t - t0) / 1000);
    const into = buckets.get(s) ?? newHistogram();
    into.add(h);
    buckets.set(s, into);
  }
  const offsets = [...buckets.keys()].sort((a, b) => a - b);
  const all = newHistogram();
  const rest = newHistogram();
  const seconds: SecondLatency[] = [];
  for (const s of offsets) {
    const h = buckets.get(s)!;
    all.add(h);
    if (s >= FIRST_SECOND_OFFSETS) rest.add(h);
    const latency = summarize(h);
    if (latency) seconds.push({ offsetS: s, latency });
  }
  return { seconds, all: summarize(all), afterFirstSecond: summarize(rest) };
}

function main(): void {
  const a = scriptArgs(
    __filename,
    { allowPositionals: true, options: { 'over-ms': { type: 'string', default: '15' } } },
    ({ values, positionals }) => {
      if (positionals.length !== 1) throw new Error(`expects one progress file, got ${positionals.length}`);
      return {
        file: positionals[0],
        over: num('--over-ms', values['over-ms'], (n) => n >= 0, 'a number of ms >= 0')!,
      };
    },
  );
  let r: PerSecondLatency;
  try {
    r = perSecondLatency(readFileSync(a.file, 'utf8'));
  } catch (err) {
    console.error(`${a.file}: ${(err as Error).message}`);
    process.exit(1);
  }
  if (!r.all) {
    console.error(`${a.file}: no latency lines`);
    process.exit(1);
  }
  const f = (x: number) => x.toFixed(2);
  console.log('second | deliveries | p50 / p95 / p99 / max, ms');
  for (const s of r.seconds)
    console.log(
      `+${s.offsetS} | ${s.latency.count} | ${f(s.latency.p50)} / ${f(s.latency.p95)} / ${f(s.latency.p99)} / ${f(s.latency.max)}`,
    );
  const over = r.seconds.filter((s) => s.latency.p95 > a.over).map((s) => `+${s.offsetS}`);
  console.log(
    `p95 ${f(r.all.p95)} ms over ${r.seconds.length} seconds; after the window's first second ${r.afterFirstSecond ? f(r.afterFirstSecond.p95) : '-'} ms; seconds with p95 over ${a.over} ms: ${over.length}${over.length ? ` (${over.join(', ')})` : ''}`,
  );
}

if (require.main === module) main();
