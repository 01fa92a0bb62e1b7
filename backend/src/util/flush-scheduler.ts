import { logger } from '../logger';
import { backoffMs } from './retry-backoff';

/** Something that buffers writes in memory and can write them out. */
export interface FlushTarget {
  /** Writes what is pending; rejects when the database refused it, keeping what was not written. */
  flush(): Promise<void>;
  /** Units still unwritten (endpoints, rows), for logs and for drain. */
  pendingCount(): number;
}

/**
 * What one flush did, for /metrics (relay_flush_rows_total, relay_flush_duration_seconds).
 * `written`: rows (endpoints for stats, readings for device data) the database took, also when
 * the flush failed part-way; `failed`: rows the flush tried and left queued because the database
 * was unavailable (counted again by each retry); 0 when it succeeded. `seconds`: the flush's
 * wall time. Rows the database refused and that were dropped are neither (counted on their own).
 */
export interface FlushOutcome {
  written: number;
  failed: number;
  seconds: number;
}

export type FlushObserver = (outcome: FlushOutcome) => void;

const RETRY_MAX_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until every promise in `inFlight` (a live set: writes started meanwhile count too) has
 * settled, or `deadlineMs` passes. True when none is left in flight.
 */
export async function settleInFlight(inFlight: Set<Promise<unknown>>, deadlineMs: number): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (inFlight.size) {
    try {
      await beforeDeadline(
        Promise.allSettled([...inFlight]).then(() => undefined),
        until,
      );
    } catch {
      return false;
    }
  }
  return true;
}

/** `work`, or a rejection once `until` (epoch ms) passes; the work itself is not cancelled. */
export async function beforeDeadline(work: Promise<void>, until: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('deadline passed')), Math.max(0, until - Date.now()));
  });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Flushes a target every interval; after a failure it retries with doubling delays (up to
 * 30 s) and returns to the interval once a flush succeeds. `drain` stops the timer and keeps
 * flushing until nothing is pending or its deadline passes (shutdown).
 */
export class FlushScheduler {
  private timer?: NodeJS.Timeout;
  private failures = 0;
  closed = false;

  constructor(
    private readonly what: string,
    private readonly intervalMs: number,
    private readonly target: FlushTarget,
  ) {
    this.schedule(intervalMs);
  }

  /** True while the last scheduled flush failed (callers avoid hammering a database that is down). */
  get failing(): boolean {
    return this.failures > 0;
  }

  /**
   * Stops the timer and flushes until nothing is pending, retrying failures with backoff
   * (100 ms doubling to 2 s) until `deadlineMs` (milliseconds from now) passes; a flush still
   * running at the deadline is not waited for. Resolves true when everything was written,
   * false (after logging what is lost) when the deadline passed first. Never rejects.
   */
  async drain(deadlineMs: number): Promise<boolean> {
    this.closed = true;
    clearTimeout(this.timer);
    const until = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      let error: Error | undefined;
      try {
        await beforeDeadline(this.target.flush(), until);
        if (this.target.pendingCount() === 0) return true;
      } catch (err) {
        error = err as Error;
      }
      if (Date.now() >= until) {
        logger.error(`${this.what} lost at shutdown: database unavailable`, {
          pending: this.target.pendingCount(),
          error: error?.message ?? 'deadline passed',
        });
        return false;
      }
      if (error) await sleep(Math.min(backoffMs(attempt, 100, 2000), until - Date.now()));
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.target.flush().then(
        () => {
          this.failures = 0;
          this.schedule(this.intervalMs);
        },
        (err: Error) => {
          this.failures++;
          const retryIn = backoffMs(this.failures, this.intervalMs, RETRY_MAX_MS);
          logger.error(`${this.what} flush failed; kept for retry`, {
            pending: this.target.pendingCount(),
            attempt: this.failures,
            retryInMs: retryIn,
            error: err.message,
          });
          this.schedule(retryIn);
        },
      );
    }, delayMs);
    this.timer.unref();
  }
}
