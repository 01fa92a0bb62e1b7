/**
 * Token hashes of endpoints this process has looked up, so a reconnect storm verifies tokens
 * in memory instead of asking the database once per connect. Bounded (least recently used
 * goes first) and aged: an entry older than `ttlMs` is looked up again, which bounds how long
 * another process's delete goes unseen here when nothing calls `invalidate` for it.
 */
export class TokenHashCache {
  /** endpointId -> { tokenHash, stored at (ms, Date.now()) }; Map order = least recently used first. */
  private readonly entries = new Map<string, { hash: string; at: number }>();

  /**
   * @param maxEntries most endpoints held (0 disables the cache)
   * @param ttlMs how long an entry is trusted, in ms (0 disables the cache)
   */
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached token hash (hex sha256), or undefined when absent or expired. */
  get(endpointId: string): string | undefined {
    const entry = this.entries.get(endpointId);
    if (!entry) return undefined;
    this.entries.delete(endpointId);
    if (Date.now() - entry.at >= this.ttlMs) return undefined;
    this.entries.set(endpointId, entry);
    return entry.hash;
  }

  set(endpointId: string, hash: string): void {
    if (this.maxEntries <= 0 || this.ttlMs <= 0) return;
    this.entries.delete(endpointId);
    this.entries.set(endpointId, { hash, at: Date.now() });
    if (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  delete(endpointId: string): void {
    this.entries.delete(endpointId);
  }
}

/**
 * At most `max` tasks run at once; the rest wait in arrival order. Lets a storm of token checks
 * queue in memory instead of taking every pool connection from stats and device-data writes.
 */
export class Semaphore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` when a slot is free; settles as the task does. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `running` never dips under a queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
