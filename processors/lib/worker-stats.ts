/**
 * Per-worker-thread metric aggregation.
 *
 * Emitting a counter per frame made Artillery's single local worker fall behind
 * at a few thousand msg/s (its periodic aggregation stalls grow with the number
 * of events), so counters are summed here and emitted once per second, and
 * latencies never go through Artillery at all (HDR histograms, see latency.ts).
 * The same once-a-second tick measures this thread's event-loop stalls and
 * appends a progress line for the runner: live display, and the interval's
 * latency histogram so the runner can chart exact percentiles over time.
 */
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { COUNTERS, HISTOGRAMS, IOT_COUNTERS } from './metric-names';
import { nowMs } from './frame';
import type { IntervalLatency } from './latency';
import { ThreadPriority } from './thread-priority';

export interface Emitter {
  emit(event: string, ...args: unknown[]): unknown;
}

type CounterKey = keyof typeof COUNTERS;

const LOOP_PROBE_MS = 50;

export class WorkerStats {
  private emitter: Emitter | undefined;
  private readonly pending: Record<CounterKey, number> = {
    sent: 0,
    due: 0,
    expected: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    misrouted: 0,
    reordered: 0,
    uncounted: 0,
    extra: 0,
    lateJoins: 0,
    overP95: 0,
    overP99: 0,
  };
  /** Counters outside COUNTERS (IOT_COUNTERS), by metric name, summed like the others. */
  private readonly pendingNamed = new Map<string, number>();
  private sendLagMax = 0;
  private stallMax = 0;
  private lastProbe = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** VUs of this thread whose stalls judge the generator (incremented by the processor, decremented with vuStopped). */
  activeVus = 0;
  private idleWaiters: Array<() => void> = [];

  /**
   * @param intended the thread's latency from the intended send time, closed at every flush: each
   *   interval's histogram goes into the run's, and onto the progress line when there is a file
   * @param progressFile where progress lines go (none: no lines; the intervals are still closed into the run's)
   * @param priority puts this thread ahead of the rest of its process while VUs run, when
   *   RELAY_PERF_OTHER_THREADS_NICE asks for it (thread-priority.ts; off by default)
   */
  constructor(
    private readonly intended?: IntervalLatency,
    private readonly progressFile = process.env.RELAY_PERF_PROGRESS_FILE,
    private readonly priority = new ThreadPriority(),
  ) {}

  /** First VU in this thread: announce every counter as 0 so gates never see a missing metric. */
  attach(emitter: Emitter): void {
    if (this.emitter) return;
    this.emitter = emitter;
    this.priority.register();
    for (const name of Object.values(COUNTERS)) emitter.emit('counter', name, 0);
    for (const name of Object.values(IOT_COUNTERS)) emitter.emit('counter', name, 0);
    this.lastProbe = nowMs();
    // unref: these timers must never keep Artillery's worker alive after the last VU.
    this.probeTimer = setInterval(() => this.probe(), LOOP_PROBE_MS).unref();
    this.flushTimer = setInterval(() => this.flush(), 1000).unref();
  }

  /** A VU of this thread stopped measuring; the last one releases every VU waiting in whenNoneActive. */
  vuStopped(): void {
    this.activeVus--;
    if (this.activeVus > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const release of waiters) release();
  }

  /**
   * Resolves once no VU of this thread is measuring (at once when none is), or after
   * `maxWaitMs` (ms) whatever the count, so a VU that never stops cannot hold the others.
   * Why: closing thousands of sockets stalls the thread for hundreds of ms, and a VU still
   * draining on that thread would count the stall against the generator and see its last
   * frames late. A VU that has drained waits here before it closes.
   */
  whenNoneActive(maxWaitMs: number): Promise<void> {
    if (this.activeVus <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(release, maxWaitMs);
      this.idleWaiters.push(release);
    });
  }

  add(key: CounterKey, n = 1): void {
    this.pending[key] += n;
  }

  /** Adds to a counter named by its metric name (IOT_COUNTERS), emitted with the next flush. */
  count(name: string, n = 1): void {
    this.pendingNamed.set(name, (this.pendingNamed.get(name) ?? 0) + n);
  }

  noteSendLag(ms: number): void {
    if (ms > this.sendLagMax) this.sendLagMax = ms;
  }

  histogram(name: string, value: number): void {
    this.emitter?.emit('histogram', name, value);
  }

  private probe(): void {
    const now = nowMs();
    const stall = now - this.lastProbe - LOOP_PROBE_MS;
    if (stall > this.stallMax) this.stallMax = stall;
    this.lastProbe = now;
  }

  /** Emits the counters gathered since the last flush; also called when a VU ends so nothing is left behind. */
  flush(): void {
    // Before anything else: the run's histogram must hold every value once a VU's flush returns.
    const latencyHdr = this.intended?.close(Boolean(this.progressFile));
    const emitter = this.emitter;
    if (!emitter) return;
    const snapshot = { ...this.pending };
    for (const key of Object.keys(this.pending) as CounterKey[]) {
      if (this.pending[key] !== 0) emitter.emit('counter', COUNTERS[key], this.pending[key]);
      this.pending[key] = 0;
    }
    for (const [name, n] of this.pendingNamed) if (n !== 0) emitter.emit('counter', name, n);
    this.pendingNamed.clear();
    const busy = this.activeVus > 0;
    if (busy) {
      // Once a second, not at register(): by now every generator thread of the process has
      // announced itself, and threads started since are caught.
      this.priority.yieldOthers();
      emitter.emit('histogram', HISTOGRAMS.loopStall, Math.max(0, this.stallMax));
    }
    if (this.progressFile && (busy || snapshot.sent > 0 || snapshot.delivered > 0)) {
      const line = {
        t: Date.now(),
        // Unique across the processes of a --generators run, which share one progress file.
        thread: process.pid * 1000 + threadId,
        vus: this.activeVus,
        sent: snapshot.sent,
        delivered: snapshot.delivered,
        lost: snapshot.lost,
        sendLagMaxMs: Math.round(this.sendLagMax),
        stallMaxMs: Math.round(Math.max(0, this.stallMax)),
        /** HDR (compressed base64) of the latency from the intended send time, µs, of this line's deliveries */
        latencyHdr,
      };
      try {
        appendFileSync(this.progressFile, `${JSON.stringify(line)}\n`);
      } catch {
        // Progress is cosmetic; a missing directory must not fail the load test.
      }
    }
    this.sendLagMax = 0;
    this.stallMax = 0;
  }

  stopTimers(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.flushTimer) clearInterval(this.flushTimer);
  }
}
