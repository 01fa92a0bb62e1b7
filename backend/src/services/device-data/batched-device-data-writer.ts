import type { Db } from '../../db/prisma';
import { logger } from '../../logger';
import type { GaugeRegistry } from '../../monitoring/metrics';
import { FlushScheduler } from '../../util/flush-scheduler';
import { QueueFullError, type DeviceDataWriter, type DeviceRow } from './device-data-writer';

export interface BatchedDeviceDataOptions {
  flushIntervalMs: number;
  batchSize: number;
  maxQueued: number;
  onFlush?: (rows: number, seconds: number, ok: boolean) => void;
  onDrop?: () => void;
  /** Queued readings discarded because their endpoint was deleted (through the API or elsewhere). */
  onOrphaned?: (rows: number) => void;
}

/**
 * Queues readings and writes them with one multi-row INSERT per batch. The queue is bounded:
 * past `maxQueued` a reading is refused (the sender is told, the drop is counted) instead of
 * memory growing while the database is away. A failed batch stays queued, in order.
 */
export class BatchedDeviceDataWriter implements DeviceDataWriter {
  private queue: DeviceRow[] = [];
  private readonly scheduler: FlushScheduler;
  private flushing?: Promise<void>;
  private lastDropLog = 0;

  constructor(
    private readonly prisma: Db,
    private readonly options: BatchedDeviceDataOptions,
  ) {
    this.scheduler = new FlushScheduler('device data', options.flushIntervalMs, {
      flush: () => this.flush(),
      pendingCount: () => this.queue.length,
    });
  }

  get unwritten(): number {
    return this.queue.length;
  }

  get queued(): number {
    return this.queue.length;
  }

  registerMetrics(metrics: GaugeRegistry): void {
    metrics.gauge('relay_device_data_queued', 'Device readings waiting to be written', () => this.queued);
  }

  store(row: DeviceRow): Promise<void> {
    if (this.queue.length >= this.options.maxQueued) {
      this.options.onDrop?.();
      if (Date.now() - this.lastDropLog > 5000) {
        this.lastDropLog = Date.now();
        logger.warn('device data queue full; refusing readings', { queued: this.queue.length });
      }
      return Promise.reject(new QueueFullError());
    }
    this.queue.push(row);
    if (this.queue.length >= this.options.batchSize && !this.flushing && !this.scheduler.failing) {
      // A refused early flush keeps its rows and is counted by onFlush; the scheduled flush
      // retries (and logs). Unhandled, the rejection would reach the process.
      this.flush().catch(() => undefined);
    }
    return Promise.resolve();
  }

  forget(endpointId: string): void {
    const before = this.queue.length;
    this.queue = this.queue.filter((row) => row.endpointId !== endpointId);
    if (this.queue.length < before) this.options.onOrphaned?.(before - this.queue.length);
  }

  /** Writes everything queued; at most one flush runs at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.writeQueued().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  drain(deadlineMs = 8000): Promise<boolean> {
    return this.scheduler.drain(deadlineMs);
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.slice(0, this.options.batchSize);
      const started = performance.now();
      try {
        await this.prisma.deviceData.createMany({ data: batch });
      } catch (err) {
        this.options.onFlush?.(batch.length, (performance.now() - started) / 1000, false);
        // Rows of an endpoint deleted while they waited would fail this batch (and every other
        // endpoint's rows in it) forever: drop them and write the rest at once.
        if (isForeignKeyViolation(err) && (await this.dropOrphans(batch)) > 0) continue;
        throw err; // kept, in order, for the next attempt
      }
      // By identity: forget() may have filtered the queue while the batch was being written.
      const written = new Set(batch);
      this.queue = this.queue.filter((row) => !written.has(row));
      this.options.onFlush?.(batch.length, (performance.now() - started) / 1000, true);
    }
  }

  /** Forgets the endpoints of `batch` that no longer exist; returns how many of them there were. */
  private async dropOrphans(batch: DeviceRow[]): Promise<number> {
    const ids = [...new Set(batch.map((r) => r.endpointId))];
    const alive = await this.prisma.endpoint.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const aliveIds = new Set(alive.map((e) => e.id));
    const dead = ids.filter((id) => !aliveIds.has(id));
    for (const id of dead) this.forget(id);
    if (dead.length) logger.warn('dropped device data of deleted endpoints', { endpoints: dead.length });
    return dead.length;
  }
}

/** Prisma's code for a foreign-key violation (the same on SQLite and MySQL through the adapters). */
function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'P2003';
}
