/**
 * Reads the per-second lines the processor appends to RELAY_PERF_PROGRESS_FILE
 * (one per generator worker thread per second) and renders the live status line.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface ProgressLine {
  t: number;
  thread: number;
  vus: number;
  sent: number;
  delivered: number;
  lost: number;
  sendLagMaxMs: number;
  stallMaxMs: number;
}

export interface SecondTotals {
  t: number;
  vus: number;
  sent: number;
  delivered: number;
  stallMaxMs: number;
  sendLagMaxMs: number;
}

export class ProgressTail {
  private offset = 0;
  private rest = '';
  readonly lines: ProgressLine[] = [];

  constructor(private readonly file: string) {}

  poll(): ProgressLine[] {
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      return [];
    }
    if (size <= this.offset) return [];
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(size - this.offset);
      readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      const text = this.rest + buf.toString('utf8');
      const parts = text.split('\n');
      this.rest = parts.pop() ?? '';
      const fresh: ProgressLine[] = [];
      for (const p of parts) {
        try {
          fresh.push(JSON.parse(p) as ProgressLine);
        } catch {
          // a torn line cannot happen with appendFileSync of one line, but never crash the run over progress
        }
      }
      this.lines.push(...fresh);
      return fresh;
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Sums thread lines into wall-clock seconds. Counts are deltas and add up; open
 * connections are a level, so only each thread's last line in a second counts.
 */
export function perSecond(lines: readonly ProgressLine[]): SecondTotals[] {
  const bySecond = new Map<number, SecondTotals>();
  const vusByThread = new Map<number, Map<number, number>>();
  for (const l of lines) {
    const t = Math.floor(l.t / 1000) * 1000;
    const s = bySecond.get(t) ?? { t, vus: 0, sent: 0, delivered: 0, stallMaxMs: 0, sendLagMaxMs: 0 };
    let threads = vusByThread.get(t);
    if (!threads) vusByThread.set(t, (threads = new Map()));
    threads.set(l.thread, l.vus);
    s.vus = [...threads.values()].reduce((a, b) => a + b, 0);
    s.sent += l.sent;
    s.delivered += l.delivered;
    s.stallMaxMs = Math.max(s.stallMaxMs, l.stallMaxMs);
    s.sendLagMaxMs = Math.max(s.sendLagMaxMs, l.sendLagMaxMs);
    bySecond.set(t, s);
  }
  return [...bySecond.values()].sort((a, b) => a.t - b.t);
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export interface StatusInput {
  index: number;
  total: number;
  name: string;
  elapsedMs: number;
  plannedMs: number;
  latest?: SecondTotals;
  p95Ms?: number;
  relayCpuPct?: number;
  generatorCpuPct?: number;
}

export function statusLine(s: StatusInput): string {
  const parts = [
    `[${s.index}/${s.total}] ${s.name}`,
    `${formatDuration(s.elapsedMs)}/~${formatDuration(s.plannedMs)}`,
    `conns ${s.latest?.vus ?? 0}`,
    `send ${s.latest?.sent ?? 0} msg/s`,
    `delivered ${s.latest?.delivered ?? 0}/s`,
    `p95(last 10 s) ${s.p95Ms === undefined ? '-' : `${s.p95Ms} ms`}`,
  ];
  if (s.relayCpuPct !== undefined) parts.push(`relay CPU ${Math.round(s.relayCpuPct)}%`);
  if (s.generatorCpuPct !== undefined) parts.push(`generator CPU ${Math.round(s.generatorCpuPct)}%`);
  return parts.join(' | ');
}

/** What the live status line samples each second, besides the progress file. */
export interface LiveSources {
  index: number;
  total: number;
  name: string;
  plannedMs: number;
  tail: ProgressTail;
  /** Artillery's latest 10 s p95 (ms) */
  p95Ms: () => number | undefined;
  relayCpuPct: () => number | undefined;
  generatorCpuPct: () => number | undefined;
}

/**
 * Prints the status line once a second, in place on a terminal; elsewhere (CI logs) every 10 s,
 * so a long run does not flood the log. Returns the function that stops it.
 */
export function startLiveStatus(s: LiveSources): () => void {
  const started = Date.now();
  const interactive = process.stdout.isTTY === true;
  let lastPrinted = 0;
  const tick = setInterval(() => {
    const relayCpuPct = s.relayCpuPct();
    const generatorCpuPct = s.generatorCpuPct();
    s.tail.poll();
    const seconds = perSecond(s.tail.lines);
    // The newest second may still be missing other threads' lines; show the last complete one.
    const latest = seconds.length > 1 ? seconds[seconds.length - 2] : seconds[0];
    const line = statusLine({
      index: s.index,
      total: s.total,
      name: s.name,
      elapsedMs: Date.now() - started,
      plannedMs: s.plannedMs,
      latest,
      p95Ms: s.p95Ms(),
      relayCpuPct,
      generatorCpuPct,
    });
    if (interactive) process.stdout.write(`\r\u001b[2K${line}`);
    else if (Date.now() - lastPrinted >= 10_000) {
      console.log(line);
      lastPrinted = Date.now();
    }
  }, 1000);
  return () => {
    clearInterval(tick);
    if (interactive) process.stdout.write('\n');
  };
}
