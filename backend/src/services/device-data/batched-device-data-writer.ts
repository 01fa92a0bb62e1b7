import type { DbProvider } from '../../db/database-url';
import { classifyWriteFailure, dialectOf, isForeignKeyViolation } from '../../db/dialects';
import type { Db } from '../../db/prisma';
import { prismaRunner, type StatementRunner } from '../../db/bulk/statement-runner';
import { logger } from '../../logger';
import type { GaugeRegistry } from '../../monitoring/metrics';
import { FlushScheduler, type FlushObserver } from '../../util/flush-scheduler';
import { insertDeviceRows, prepareRow, type PreparedRow } from './batch-insert';
import type { RejectReason } from './reading-check';
import {
  QueueFullError,
  type DeviceDataBacklog,
  type DeviceDataWriter,
  type DeviceRow,
} from './device-data-writer';

export interface BatchedDeviceDataOptions {
  provider: DbProvider;
  flushIntervalMs: number;
  batchSize: number;
  maxQueued: number;
  /** Runs the INSERTs (the writer thread's own connection, DbHandle.statements); Prisma's raw API when omitted. */
  statements?: StatementRunner;
  /** /health reports a backlog once the oldest queued reading is older than this (ms). */
  backlogMaxMs?: number;
  onFlush?: FlushObserver;
  onDrop?: () => void;
  /** Queued readings discarded because their endpoint was deleted (through the API or elsewhere). */
  onOrphaned?: (rows: number) => void;
  /**
   * Queued readings dropped unwritten: `too_large` (serialised, over the dialect's
   * maxStatementBytes, never sent) or `refused` (the database refused it, alone).
   */
  onRefused?: (rows: number, reason: Extract<RejectReason, 'too_large' | 'refused'>) => void;
}

/**
 * Queues readings and writes them with one multi-row INSERT per batch. The queue is bounded:
 * past `maxQueued` a reading is refused (the sender is told, the drop is counted) instead of
 * memory growing while the database is away. A batch that fails because the database is
 * unavailable stays queued, in order; one that fails because the database refuses some rows'
 * data is split in halves until each refused row is alone, and only those rows are dropped
 * (counted and logged), so one bad reading costs O(log batch) statements, never the queue.
 */
export class BatchedDeviceDataWriter implements DeviceDataWriter {
  private queue: DeviceRow[] = [];
  private readonly scheduler: FlushScheduler;
  private flushing?: Promise<void>;
  private lastDropLog = 0;
  private readonly statements: StatementRunner;

  constructor(
    private readonly prisma: Db,
    private readonly options: BatchedDeviceDataOptions,
  ) {
    this.statements = options.statements ?? prismaRunner(prisma);
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

  backlog(now = Date.now()): DeviceDataBacklog {
    const oldest = this.queue[0];
    const oldestMs = oldest ? Math.max(0, now - oldest.createdAt.getTime()) : 0;
    const limit = this.options.backlogMaxMs ?? Infinity;
    return { rows: this.queue.length, oldestMs, stalled: oldestMs > limit };
  }

  registerMetrics(metrics: GaugeRegistry): void {
    metrics.gauge('relay_device_data_queued', 'Device readings waiting to be written', () => this.queued);
    metrics.gauge(
      'relay_device_data_oldest_queued_seconds',
      'Age of the oldest device reading waiting to be written (0 when none)',
      () => this.backlog().oldestMs / 1000,
    );
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
      const started = performance.now();
      const settled = new Set<DeviceRow>();
      const refused: Refusal[] = [];
      const batch = this.nextBatch(settled, refused);
      // Counted as statements succeed, so rows written before an outage are reported as written.
      const tally = { written: 0 };
      try {
        if (batch.length) await this.writeIsolating(batch, settled, refused, tally);
      } catch (err) {
        this.options.onFlush?.({
          written: tally.written,
          failed: batch.filter(({ row }) => !settled.has(row)).length,
          seconds: (performance.now() - started) / 1000,
        });
        throw err; // the database is unavailable: what is not settled stays queued, in order
      } finally {
        // By identity: forget() may have filtered the queue while the batch was being written.
        if (settled.size) this.queue = this.queue.filter((row) => !settled.has(row));
        this.reportRefused(refused);
      }
      this.options.onFlush?.({
        written: tally.written,
        failed: 0,
        seconds: (performance.now() - started) / 1000,
      });
      // Through Prisma (BULK_WRITES=prisma) each statement holds the event loop while it is built
      // (and on SQLite run): about 12 ms per 500 rows here. A backlog (after an outage, or a
      // burst above batchSize per interval) would otherwise be written back to back, every
      // frame of every endpoint waiting behind all of it; between statements, received frames
      // are forwarded first.
      if (this.queue.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * The head of the queue, serialised: at most batchSize rows and maxStatementBytes of
   * payload (at least one row). A row that cannot be serialised or is too large alone is
   * settled as refused here, never sent: MySQL answers an oversized packet by dropping the
   * connection, which would look like an outage and hold the queue.
   */
  private nextBatch(settled: Set<DeviceRow>, refused: Refusal[]): PreparedRow[] {
    const maxBytes = dialectOf(this.options.provider).maxStatementBytes;
    const batch: PreparedRow[] = [];
    let bytes = 0;
    for (const row of this.queue) {
      if (batch.length + refused.length >= this.options.batchSize) break;
      let prepared: PreparedRow;
      try {
        prepared = prepareRow(row);
      } catch (err) {
        settled.add(row);
        refused.push({ row, reason: 'refused', error: err as Error });
        continue;
      }
      if (prepared.bytes > maxBytes) {
        settled.add(row);
        refused.push({ row, reason: 'too_large', error: new Error(`payload of ${prepared.bytes} bytes`) });
        continue;
      }
      if (batch.length && bytes + prepared.bytes > maxBytes) break;
      bytes += prepared.bytes;
      batch.push(prepared);
    }
    return batch;
  }

  /**
   * Inserts `rows` in order; rows whose data the database refuses are isolated by bisection
   * and recorded in `refused`. Every row written or given up is added to `settled`, every row
   * written counted in `tally.written`. Rejects when the database is unavailable (rows written
   * before that are in `settled` and `tally`).
   */
  private async writeIsolating(
    rows: PreparedRow[],
    settled: Set<DeviceRow>,
    refused: Refusal[],
    tally: { written: number },
  ): Promise<void> {
    try {
      await insertDeviceRows(this.statements, this.options.provider, rows);
    } catch (err) {
      if (classifyWriteFailure(dialectOf(this.options.provider), err) === 'unavailable') throw err;
      if (isForeignKeyViolation(err)) {
        // Rows of an endpoint deleted while they waited: forget them, write the others.
        const dead = await this.dropOrphans(rows.map((p) => p.row));
        if (dead.size) {
          for (const { row } of rows) if (dead.has(row.endpointId)) settled.add(row);
          const alive = rows.filter(({ row }) => !dead.has(row.endpointId));
          if (alive.length) await this.writeIsolating(alive, settled, refused, tally);
          return;
        }
      }
      if (rows.length === 1) {
        settled.add(rows[0].row);
        refused.push({ row: rows[0].row, reason: 'refused', error: err as Error });
        return;
      }
      const half = rows.length >> 1;
      await this.writeIsolating(rows.slice(0, half), settled, refused, tally);
      await this.writeIsolating(rows.slice(half), settled, refused, tally);
      return;
    }
    for (const { row } of rows) settled.add(row);
    tally.written += rows.length;
  }

  /** One log line per batch, however many rows it refused. */
  private reportRefused(refused: Refusal[]): void {
    if (!refused.length) return;
    for (const reason of ['too_large', 'refused'] as const) {
      const n = refused.filter((r) => r.reason === reason).length;
      if (n) this.options.onRefused?.(n, reason);
    }
    const first = refused[0];
    logger.error('device data refused; rows dropped', {
      rows: refused.length,
      reason: first.reason,
      endpointId: first.row.endpointId,
      deviceId: first.row.deviceId,
      error: first.error.message?.split('\n').slice(-1)[0],
    });
  }

  /** Forgets the endpoints of `rows` that no longer exist; returns their ids. */
  private async dropOrphans(rows: DeviceRow[]): Promise<Set<string>> {
    const ids = [...new Set(rows.map((r) => r.endpointId))];
    const alive = await this.prisma.endpoint.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const aliveIds = new Set(alive.map((e) => e.id));
    const dead = new Set(ids.filter((id) => !aliveIds.has(id)));
    for (const id of dead) this.forget(id);
    if (dead.size) logger.warn('dropped device data of deleted endpoints', { endpoints: dead.size });
    return dead;
  }
}

interface Refusal {
  row: DeviceRow;
  reason: Extract<RejectReason, 'too_large' | 'refused'>;
  error: Error;
}
