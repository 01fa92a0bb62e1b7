/**
 * CPU of a load tool's hottest thread while it holds its rate: how close the tool's own
 * sending and receiving thread is to saturating its core. A generator thread near a whole
 * core queues its own work and reports its queueing as the relay's latency, so
 * scripts/compare-pack-plain.ts prints this figure next to both tools' latencies: for the same
 * deliveries per second, cores of the hottest thread / deliveries per second is the tool's cost
 * per delivery (kernel socket work on its syscalls included).
 *
 * Read from /proc/<pid>/task/<tid>/stat (utime + stime, Linux only), sampled once a second.
 */
import { readdirSync } from 'node:fs';
import { CLOCK_TICKS, readProcStat } from '../runner/proc-sampler';

/** One reading of every thread of a process: `ticks` is tid -> utime + stime in clock ticks. */
export interface ThreadSample {
  /** when the reading was taken, ms (any monotonic clock; only differences are used) */
  atMs: number;
  ticks: Map<number, number>;
}

/** The hottest thread's busiest window, from hottestThreadWindow. */
export interface ThreadWindow {
  tid: number;
  /** mean CPU of that thread over the window, in cores (1 = one core all the time) */
  cores: number;
  /** the window's length, s (shorter than asked when the samples span less) */
  seconds: number;
}

/**
 * utime + stime of every thread of `pid`, in clock ticks. Threads that end between the
 * directory listing and their read are left out; an empty map once the process is gone
 * (or on a system without /proc).
 */
export function readThreadTicks(pid: number): Map<number, number> {
  const ticks = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return ticks;
  }
  for (const tid of tids) {
    // null: the thread ended meanwhile
    const stat = readProcStat(pid, Number(tid));
    if (stat) ticks.set(Number(tid), stat.ticks);
  }
  return ticks;
}

/**
 * The thread that used the most CPU within any window of `windowSeconds` (s) spanned by the
 * samples (consecutive, at least two; oldest first), and its mean CPU in cores over that
 * window. The window is aligned on samples: the span between sample i and the first sample
 * at least `windowSeconds` later (or the last sample). A thread that appears inside a window
 * counts from its first sample there; one that has ended by the window's last sample is not a
 * candidate for that window. Returns null with fewer than two samples or when no thread ran.
 * Throws RangeError for a window that is not a positive number.
 */
export function hottestThreadWindow(samples: ThreadSample[], windowSeconds: number): ThreadWindow | null {
  if (!(windowSeconds > 0)) throw new RangeError(`windowSeconds must be positive, got ${windowSeconds}`);
  if (samples.length < 2) return null;
  let best: ThreadWindow | null = null;
  let bestTicks = 0;
  for (let i = 0; i < samples.length - 1; i++) {
    let j = i + 1;
    while (j < samples.length - 1 && samples[j].atMs - samples[i].atMs < windowSeconds * 1000) j++;
    const seconds = (samples[j].atMs - samples[i].atMs) / 1000;
    if (seconds <= 0) continue;
    for (const [tid, end] of samples[j].ticks) {
      // A thread born inside the window counts from its first appearance (samples[j] has it).
      const start =
        samples[i].ticks.get(tid) ??
        samples
          .slice(i + 1, j + 1)
          .find((s) => s.ticks.has(tid))!
          .ticks.get(tid)!;
      const used = end - start;
      if (used > bestTicks) {
        bestTicks = used;
        best = { tid, cores: used / (CLOCK_TICKS * seconds), seconds };
      }
    }
  }
  return best;
}
