import { logger } from '../logger';
import { backoffMs } from './retry-backoff';

/** Something that buffers writes in memory and can write them out. */
export interface FlushTarget {
  /** Writes what is pending; rejects when the database refused it, keeping what was not written. */
  flush(): Promise<void>;
  /** Units still unwritten (endpoints, rows), for logs and for drain. */
  pendingCount(): number;
}

const RETRY_MAX_MS = 30_000;

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

  async drain(deadlineMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const until = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.target.flush();
        if (this.target.pendingCount() === 0) return;
      } catch (err) {
        if (Date.now() >= until) {
          logger.error(`${this.what} lost at shutdown: database unavailable`, {
            pending: this.target.pendingCount(),
            error: (err as Error).message,
          });
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(backoffMs(attempt, 100, 2000), until - Date.now())));
      }
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
