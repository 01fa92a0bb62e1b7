/**
 * CPU of a load tool's hottest thread while it holds its rate: how close the tool's own
 * sending and receiving thread is to saturating its core. A generator thread near a whole
 * core queues its own work and reports its queueing as the relay's latency, so
 * scripts/compare-pack-plain.ts prints this figure next to both tools' latencies: for the same
 * deliveries per second, cores of the hottest thread / deliveries per second is the tool's cost
 * per delivery (kernel socket work on its syscalls included).
 *
 * Read from /proc/<pid>/task/<tid>/stat (utime + stime, Linux only), sampled once a second; with
 * the run-queue wait from .../schedstat beside it. CPU time charged to a thread leaves out the
 * softirq work done on its core (loopback TCP delivery): a pinned generator core was 91-99 % busy
 * in /proc/stat (softirq 7-13 %) while its hottest thread was charged 0.83 cores over the hold.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { CLOCK_TICKS, readProcStat } from '../runner/proc-sampler';

/** One reading of every thread of a process: `ticks` is tid -> utime + stime in clock ticks. */
export interface ThreadSample {
  /** when the reading was taken, ms (any monotonic clock; only differences are used) */
  atMs: number;
  ticks: Map<number, number>;
  /**
   * tid -> ns spent runnable but waiting for a CPU (the second field of
   * /proc/<pid>/task/<tid>/schedstat), when the kernel keeps it
   */
  waitNs?: Map<number, number>;
}

/** The hottest thread's busiest window, from hottestThreadWindow. */
export interface ThreadWindow {
  tid: number;
  /** mean CPU of that thread over the window, in cores (1 = one core all the time) */
  cores: number;
  /** the window's length, s (shorter than asked when the samples span less) */
  seconds: number;
  /**
   * ms per second that thread spent ready to run while another task had its core (run-queue
   * wait, from schedstat), over the same window; null when the samples carry no waits. What
   * `cores` cannot show: a thread at 0.7 cores that waits 150 ms in a second was kept off its
   * core by others (its process's other threads, softirq, another process), not busy itself.
   */
  waitMsPerSec: number | null;
}

/**
 * `read(tid)` for every thread of `pid`, as tid -> value; threads for which it gives null (ended
 * meanwhile, or the file is missing) are left out; an empty map once the process is gone (or on a
 * system without /proc).
 */
function perThread(pid: number, read: (tid: number) => number | null): Map<number, number> {
  const values = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return values;
  }
  for (const name of tids) {
    const value = read(Number(name));
    if (value !== null) values.set(Number(name), value);
  }
  return values;
}

/** utime + stime of every thread of `pid`, in clock ticks (perThread's rules). */
export function readThreadTicks(pid: number): Map<number, number> {
  return perThread(pid, (tid) => readProcStat(pid, tid)?.ticks ?? null);
}

/**
 * Run-queue wait of every thread of `pid`, ns: the second field of
 * /proc/<pid>/task/<tid>/schedstat (perThread's rules; empty where the kernel has no schedstat).
 */
export function readThreadWaits(pid: number): Map<number, number> {
  return perThread(pid, (tid) => {
    try {
      const wait = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
      return Number.isFinite(wait) ? wait : null;
    } catch {
      return null;
    }
  });
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
      // samples[j] has the thread, so a first value exists.
      const used = end - firstIn(samples, i, j, tid, (s) => s.ticks)!;
      if (used > bestTicks) {
        bestTicks = used;
        best = {
          tid,
          cores: used / (CLOCK_TICKS * seconds),
          seconds,
          waitMsPerSec: waitOver(samples, i, j, tid, seconds),
        };
      }
    }
  }
  return best;
}

/**
 * `tid`'s value in the first of samples i..j that has it (from `pick`): a thread born inside a
 * window counts from its first appearance there. Undefined when none has it.
 */
function firstIn(
  samples: ThreadSample[],
  i: number,
  j: number,
  tid: number,
  pick: (s: ThreadSample) => Map<number, number> | undefined,
): number | undefined {
  for (let k = i; k <= j; k++) {
    const v = pick(samples[k])?.get(tid);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** `tid`'s run-queue wait between samples i and j (`seconds` apart), ms per second; null unless both ends carry it. */
function waitOver(
  samples: ThreadSample[],
  i: number,
  j: number,
  tid: number,
  seconds: number,
): number | null {
  const end = samples[j].waitNs?.get(tid);
  const start = firstIn(samples, i, j, tid, (s) => s.waitNs);
  if (end === undefined || start === undefined) return null;
  return (end - start) / 1e6 / seconds;
}
