/**
 * Garbage-collection pauses per V8 isolate, read from `node --trace-gc` output (a pack run's
 * artillery-<i>.log from scripts/compare-pack-plain.ts --pack-node-args=--trace-gc, or any
 * log holding such lines). Every isolate, the main thread and each worker thread, has its own
 * heap and its own pauses; they are told apart by the isolate address in the line's prefix.
 *
 *   npx tsx scripts/gc-pauses.ts <log> [--from-ms <t>] [--to-ms <t>] [--over-ms <ms>]
 *
 * Prints, per isolate and per collector (Scavenge, Mark-Compact, Minor Mark-Sweep ...), the
 * number of pauses, their total and largest, in ms of main-thread pause as V8 reports it (the
 * first figure of "a / b ms"), and lists every pause longer than --over-ms (default 10) with the
 * isolate's own clock (ms since that isolate started); for Mark-Compact also the largest step of
 * the incremental marking before it, a pause of its own. --from-ms/--to-ms keep lines whose
 * isolate clock lies in the window. Exits 1 when the log holds no --trace-gc line.
 */
import { readFileSync } from 'node:fs';
import { num } from '../runner/options';
import { scriptArgs } from './script-args';

/** One collection as --trace-gc prints it. */
export interface GcPause {
  isolate: string;
  /** ms since the isolate started */
  atMs: number;
  kind: string;
  /** main-thread pause, ms */
  pauseMs: number;
  /** heap before and after, MB */
  beforeMb: number;
  afterMb: number;
  /** incremental marking before a Mark-Compact: its largest step, ms (also a pause); 0 when none */
  biggestStepMs: number;
}

// [pid:0xaddr]    1234 ms: Scavenge 12.3 (14.5) -> 11.2 (15.5) MB, 1.23 / 0.00 ms  (...)
const LINE =
  /^\[(\d+:0x[0-9a-f]+)\]\s+(\d+) ms: ([A-Za-z][A-Za-z -]*?) (?:\(reduce\) )?([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/;

/** The --trace-gc lines of `text`; other lines are ignored. */
export function parseGcTrace(text: string): GcPause[] {
  const out: GcPause[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    out.push({
      isolate: m[1],
      atMs: Number(m[2]),
      kind: m[3].trim(),
      beforeMb: Number(m[4]),
      afterMb: Number(m[5]),
      pauseMs: Number(m[6]),
      biggestStepMs: Number(/biggest step ([\d.]+) ms/.exec(line)?.[1] ?? 0),
    });
  }
  return out;
}

function main(): void {
  const a = scriptArgs(
    __filename,
    {
      allowPositionals: true,
      options: {
        'from-ms': { type: 'string', default: '0' },
        'to-ms': { type: 'string', default: 'Infinity' },
        'over-ms': { type: 'string', default: '10' },
      },
    },
    ({ values, positionals }) => {
      if (positionals.length !== 1) throw new Error(`expects one --trace-gc log, got ${positionals.length}`);
      const ms = (flag: string, raw: string | undefined) =>
        raw === 'Infinity' ? Infinity : num(flag, raw, (n) => n >= 0, 'a number of ms >= 0')!;
      return {
        log: positionals[0],
        from: ms('--from-ms', values['from-ms']),
        to: ms('--to-ms', values['to-ms']),
        over: ms('--over-ms', values['over-ms']),
      };
    },
  );
  const { from, to, over } = a;
  const all = parseGcTrace(readFileSync(a.log, 'utf8'));
  if (all.length === 0) {
    console.error(`${a.log}: no --trace-gc lines`);
    process.exit(1);
  }
  const pauses = all.filter((p) => p.atMs >= from && p.atMs <= to);
  const isolates = [...new Set(pauses.map((p) => p.isolate))];
  for (const isolate of isolates) {
    const mine = pauses.filter((p) => p.isolate === isolate);
    const last = mine[mine.length - 1];
    console.log(`isolate ${isolate} (${mine[0].atMs}-${last.atMs} ms, heap after last ${last.afterMb} MB)`);
    for (const kind of [...new Set(mine.map((p) => p.kind))]) {
      const k = mine.filter((p) => p.kind === kind);
      const total = k.reduce((s, p) => s + p.pauseMs, 0);
      const max = Math.max(...k.map((p) => p.pauseMs));
      const step = Math.max(...k.map((p) => p.biggestStepMs));
      console.log(
        `  ${kind}: ${k.length} pauses, total ${total.toFixed(1)} ms, max ${max.toFixed(2)} ms` +
          (step > 0 ? `; largest incremental marking step ${step.toFixed(1)} ms` : ''),
      );
    }
    for (const p of mine.filter((x) => x.pauseMs > over))
      console.log(
        `  over ${over} ms: at ${p.atMs} ms ${p.kind} ${p.pauseMs} ms (${p.beforeMb} -> ${p.afterMb} MB)`,
      );
  }
}

if (require.main === module) main();
