/**
 * Exact latency percentiles: every delivery is recorded into HDR histograms
 * (hdr-histogram-js) local to the generator thread, never sampled and never
 * sent through Artillery's per-event metrics. Each thread writes its histograms
 * to a directory; whoever reads them (the `after` hook, the runner) merges them
 * by adding bucket counts, which is exact: the merged percentiles are those of
 * one histogram that had seen every value.
 *
 * Two latencies per delivery:
 *  - intended: arrival minus the frame's due time on the sender's open-loop
 *    schedule. A generator that stalls and then sends its backlog does not hide
 *    the stall (no coordinated omission). This is the gated figure.
 *  - sent: arrival minus the moment the frame was handed to the socket: what
 *    the relay and the network added, blind to generator stalls.
 *
 * Against several relay processes (`--cluster N`), the intended latency is also split by
 * where the frame travelled: `local` when the sender was on the receiver's process, `cross`
 * when it came over Redis from another process (processors/lib/targets.ts). Both stay empty
 * against one process.
 *
 * Values are recorded in integer microseconds with 3 significant digits (a
 * reported value is within 0.1% of the true one); summaries are in ms.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';

/** Histograms a generator thread keeps. */
export const LATENCY_KINDS = ['intended', 'sent', 'sendLag', 'local', 'cross'] as const;
/** Kinds a file may lack (written before the split existed): merged as empty. */
const OPTIONAL_KINDS: ReadonlySet<LatencyKind> = new Set(['local', 'cross']);
export type LatencyKind = (typeof LATENCY_KINDS)[number];
export type LatencySet = Record<LatencyKind, Histogram>;

const FILE_SUFFIX = '.hdr.json';

export function newHistogram(): Histogram {
  // 60 s covers any latency a run can produce; autoResize keeps a larger outlier instead of throwing.
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export function newLatencySet(): LatencySet {
  return {
    intended: newHistogram(),
    sent: newHistogram(),
    sendLag: newHistogram(),
    local: newHistogram(),
    cross: newHistogram(),
  };
}

/** Records `ms` (clamped at 0: stamps from another process may be a hair ahead of this clock). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(ms > 0 ? Math.round(ms * 1000) : 0);
}

/**
 * A thread's latency from the intended send time, recorded once per delivery: into the open
 * interval's histogram only, which is added to the run's (`run`, the LatencySet's `intended`)
 * when the interval closes. HDR histograms add exactly, so once closed `run` holds every value
 * recorded so far; values of the open interval are not in it yet. WorkerStats closes it once a
 * second and whenever a VU ends, which is before the thread writes its latency file.
 *
 * Why: recording each delivery into both histograms was a third HDR record per delivery (with
 * the latency from the actual send), 0.23 s of the worker's 9.5 busy seconds over a 20 s hold
 * at 5,000 msg/s in (V8 profile, docs/performance/README.md "Who takes the generator's core").
 */
export class IntervalLatency {
  /** Values recorded since the last close (µs, as recordMs stores them). */
  readonly interval = newHistogram();

  constructor(readonly run: Histogram) {}

  record(ms: number): void {
    recordMs(this.interval, ms);
  }

  /**
   * Ends the interval: adds its values to `run` and empties it. Returns the interval's values
   * as compressed base64 HDR when `encode` is true and there were any, else undefined.
   */
  close(encode: boolean): string | undefined {
    if (this.interval.totalCount === 0) return undefined;
    const encoded = encode ? encodeHistogram(this.interval) : undefined;
    this.run.add(this.interval);
    this.interval.reset();
    return encoded;
  }
}

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

/** Percentiles in ms (HDR's definition: the smallest recorded value at or above that share of values); null when empty. */
export function summarize(h: Histogram): LatencySummary | null {
  if (h.totalCount === 0) return null;
  return {
    count: h.totalCount,
    min: ms(h.getValueAtPercentile(0)),
    mean: Math.round(h.mean) / 1000,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

export function encodeHistogram(h: Histogram): string {
  return encodeIntoCompressedBase64(h);
}

export function decodeHistogram(base64: string): Histogram {
  return decodeFromCompressedBase64(base64);
}

/** Adds every histogram of `from` into `into` (exact: bucket counts add). */
export function addInto(into: LatencySet, from: Partial<LatencySet>): void {
  for (const kind of LATENCY_KINDS) {
    const h = from[kind];
    if (h) into[kind].add(h);
  }
}

/** Writes (or overwrites) `<dir>/<name>.hdr.json` with the thread's cumulative histograms. */
export function writeLatencyFile(dir: string, name: string, set: LatencySet): void {
  mkdirSync(dir, { recursive: true });
  const body: Record<string, string> = {};
  for (const kind of LATENCY_KINDS) body[kind] = encodeHistogram(set[kind]);
  writeFileSync(path.join(dir, `${name}${FILE_SUFFIX}`), JSON.stringify(body));
}

/**
 * Merges every `*.hdr.json` in `dir` (one per generator thread or process).
 * Returns null when there is none (no thread recorded anything, or the
 * directory does not exist). Throws on a corrupt file: a silent partial merge
 * would report percentiles of a subset as if they were exact.
 */
export function mergeLatencyDir(dir: string): { files: number; set: LatencySet } | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(FILE_SUFFIX));
  } catch {
    return null;
  }
  if (names.length === 0) return null;
  const set = newLatencySet();
  for (const name of names) {
    const body = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Partial<
      Record<LatencyKind, string>
    >;
    const decoded: Partial<LatencySet> = {};
    for (const kind of LATENCY_KINDS) {
      const text = body[kind];
      if (text === undefined && OPTIONAL_KINDS.has(kind)) continue;
      if (typeof text !== 'string') throw new Error(`${name}: no "${kind}" histogram`);
      decoded[kind] = decodeHistogram(text);
    }
    addInto(set, decoded);
  }
  return { files: names.length, set };
}

/**
 * The directory every generator thread of a run writes its histograms to: RELAY_PERF_HDR_DIR
 * (the runner's, merged by it) or a temporary one for a hand run. Called by a `before` hook,
 * which hands it to the worker threads through context.vars.
 */
export function latencyDirForRun(): string {
  return process.env.RELAY_PERF_HDR_DIR || mkdtempSync(path.join(tmpdir(), 'relay-perf-latency-'));
}

/**
 * `after` hook of a hand run: prints the exact percentiles merged from every thread's file in
 * `dir`, then removes a temporary directory (the runner's own is left for it to merge). Never
 * throws: a merge failure is printed as a warning.
 */
export function printAndCleanLatencyDir(dir: unknown): void {
  if (typeof dir !== 'string') return;
  try {
    const merged = mergeLatencyDir(dir);
    if (!merged) {
      console.log('latency: no deliveries recorded');
      return;
    }
    const line = (label: string, h: Histogram) => {
      const s = summarize(h);
      if (!s) return `${label}: none`;
      return `${label}: p50 ${s.p50} p95 ${s.p95} p99 ${s.p99} p99.9 ${s.p999} max ${s.max} ms (${s.count} values)`;
    };
    console.log(`Exact latency, every delivery, merged from ${merged.files} generator thread(s):`);
    console.log(`  ${line('from intended send time (gated)', merged.set.intended)}`);
    console.log(`  ${line('from actual send', merged.set.sent)}`);
    console.log(`  ${line('send lag', merged.set.sendLag)}`);
    if (merged.set.cross.totalCount > 0) {
      console.log(`  ${line('same relay process as the sender', merged.set.local)}`);
      console.log(`  ${line('across Redis from another process', merged.set.cross)}`);
    }
  } catch (err) {
    console.error(`warning: could not merge latency histograms in ${dir}: ${(err as Error).message}`);
  } finally {
    if (!process.env.RELAY_PERF_HDR_DIR) rmSync(dir, { recursive: true, force: true });
  }
}
