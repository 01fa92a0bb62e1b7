/**
 * The generator worker thread goes first on its core; the rest of its process takes what is left.
 *
 * An Artillery process is more than the worker thread that sends and receives: its main thread
 * aggregates metrics on a heap of 60-70 MB whose mark-compacts took up to 93 ms, and V8's
 * background threads (garbage collection and compile jobs of both isolates) run beside it. With
 * the generator on one core (compare-pack-plain --pin, or a busy machine), whenever they run the
 * worker waits, and every frame due meanwhile leaves late: `perf sched timehist` of a pinned
 * 5,000 msg/s run showed 131 ms of V8 helper threads on the worker's core in a second whose
 * worst event-loop stall was 40 ms, and Artillery's main thread 31-43 ms in two seconds with
 * stalls of 65 and 80 ms (docs/performance/README.md, "Who takes the generator's core").
 * Raising every other thread's nice value (RELAY_PERF_OTHER_THREADS_NICE=19) is meant to leave
 * them only the time the worker does not use; measured, it shortened their turns without stopping
 * them, and is off by default for want of a measured gain (below). Raising a thread's nice value
 * needs no privilege; lowering it again does, so this never touches another generator worker:
 * each one registers on a BroadcastChannel, and threads that registered are spared.
 *
 * Linux only (/proc/thread-self, per-thread setpriority); elsewhere, and on Artillery's main
 * thread (which is not a generator), it does nothing.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { BroadcastChannel, isMainThread } from 'node:worker_threads';

/**
 * Off unless asked for: in 4 + 4 interleaved pinned runs at 5,000 msg/s on this 2-core machine
 * the pack/driver p95 ratio was 0.90-7.71 without and 2.55-7.97 with it (run-to-run spread larger
 * than any effect), and with it the worker still waited 17-34 ms per second, about 40 % of it behind
 * its process's nice-19 threads (docs/performance/README.md, "Who takes the generator's core").
 */
export const DEFAULT_OTHER_THREADS_NICE = 0;

/**
 * RELAY_PERF_OTHER_THREADS_NICE as a nice value: unset gives the default, empty 0 (both off); 19
 * is the lowest priority there is. Throws an Error naming the variable for anything but an
 * integer 0-19.
 */
export function otherThreadsNice(raw = process.env.RELAY_PERF_OTHER_THREADS_NICE): number {
  // Empty or blank is Number's 0: off.
  const n = raw === undefined ? DEFAULT_OTHER_THREADS_NICE : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 19) {
    throw new Error(`RELAY_PERF_OTHER_THREADS_NICE must be an integer 0-19 (0: off), got "${raw}"`);
  }
  return n;
}

/** This OS thread's id, from /proc/thread-self (`<pid>/task/<tid>`); null without /proc. */
export function ownThreadId(): number | null {
  try {
    const m = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

interface Message {
  tid: number;
  /** set by a thread that just joined: everyone already there answers with its own tid */
  hello?: boolean;
}

/** What ThreadPriority asks of the OS; tests replace it. */
export interface ThreadOs {
  /** this thread's id; null where it cannot be known (no /proc) */
  self(): number | null;
  /** every thread id of this process; throws where they cannot be listed */
  threads(): number[];
  /** sets one thread's nice value; throws when the thread is gone (ESRCH) */
  setNice(tid: number, nice: number): void;
}

/** Linux: /proc/thread-self, /proc/self/task, setpriority(PRIO_PROCESS, tid), which is per thread. */
export const LINUX_THREADS: ThreadOs = {
  self: ownThreadId,
  threads: () => readdirSync('/proc/self/task').map(Number),
  setNice: (tid, nice) => setPriority(tid, nice),
};

export interface ThreadPriorityOptions {
  /** the nice value for every other thread (1-19; 0 disables); default RELAY_PERF_OTHER_THREADS_NICE */
  nice?: number;
  /** false on Artillery's main thread, where no generator runs (the default there) */
  enabled?: boolean;
  /** the BroadcastChannel the generator threads of one process meet on */
  channelName?: string;
  os?: ThreadOs;
}

export class ThreadPriority {
  private readonly generators = new Set<number>();
  private readonly reniced = new Set<number>();
  private channel: BroadcastChannel | undefined;
  private readonly nice: number;
  private readonly enabled: boolean;
  private readonly channelName: string;
  private readonly os: ThreadOs;

  constructor(options: ThreadPriorityOptions = {}) {
    this.nice = options.nice ?? otherThreadsNice();
    this.enabled = options.enabled ?? !isMainThread;
    this.channelName = options.channelName ?? 'relay-perf:generator-threads';
    this.os = options.os ?? LINUX_THREADS;
  }

  /** Called once by the generator thread when its first VU starts: announces its tid. */
  register(): void {
    if (!this.enabled || this.nice === 0 || this.channel) return;
    const self = this.os.self();
    if (self === null) return;
    this.generators.add(self);
    const channel = new BroadcastChannel(this.channelName);
    // A channel must not keep the worker alive after its last VU.
    channel.unref();
    channel.onmessage = (event: unknown) => {
      const msg = (event as { data: Message }).data;
      this.generators.add(msg.tid);
      if (msg.hello) channel.postMessage({ tid: self } satisfies Message);
    };
    channel.postMessage({ tid: self, hello: true } satisfies Message);
    this.channel = channel;
  }

  /**
   * Gives the nice value to every thread of this process that is neither a registered generator
   * nor already done, and returns their tids (those it could not change are left out: a thread
   * that ended meanwhile). Cheap enough to call once a second, so threads started later (libuv's
   * pool, a new V8 helper) are caught too. Does nothing before register().
   */
  yieldOthers(): number[] {
    if (!this.channel) return [];
    let tids: number[];
    try {
      tids = this.os.threads();
    } catch {
      return [];
    }
    const changed: number[] = [];
    for (const tid of tids) {
      if (this.generators.has(tid) || this.reniced.has(tid)) continue;
      this.reniced.add(tid);
      try {
        this.os.setNice(tid, this.nice);
        changed.push(tid);
      } catch {
        // ESRCH: the thread ended between the listing and the call.
      }
    }
    return changed;
  }

  /** Closes the channel; threads already reniced stay so until the process ends. */
  close(): void {
    this.channel?.close();
    this.channel = undefined;
  }
}
