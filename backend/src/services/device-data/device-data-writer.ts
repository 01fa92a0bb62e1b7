import type { Prisma } from '../../db/prisma';
import type { GaugeRegistry } from '../../monitoring/metrics';

export interface DeviceRow {
  endpointId: string;
  deviceId: string;
  payload: Prisma.InputJsonValue;
  createdAt: Date;
}

/** How device readings reach the database; `store` rejects with QueueFullError when it cannot take more. */
export interface DeviceDataWriter {
  store(row: DeviceRow): Promise<void>;
  /** Drops queued rows of a deleted endpoint. */
  forget(endpointId: string): void;
  /** As StatsStore.drain: at most `deadlineMs` ms; true when nothing is left unwritten; never rejects. */
  drain(deadlineMs?: number): Promise<boolean>;
  /** Readings held in memory, not yet in the database (0 for a writer that holds none). */
  readonly unwritten: number;
  /** What is waiting to be written and for how long; /health reports `stalled`. */
  backlog(): DeviceDataBacklog;
  /** Adds this driver's own gauges (in-memory state) to the metrics; a no-op for drivers without any. */
  registerMetrics(metrics: GaugeRegistry): void;
}

/**
 * Storage is backed up: DEVICE_DATA_QUEUE_MAX readings are queued (batched) or being inserted
 * (immediate). The reading was refused, not stored; the sender is told to retry later.
 */
export class QueueFullError extends Error {
  constructor() {
    super('device data queue is full; reading not stored; retry later');
  }
}

export interface DeviceDataBacklog {
  /** Readings held in memory. */
  rows: number;
  /** Age of the oldest of them, in ms (0 when none). */
  oldestMs: number;
  /** True when the oldest is older than DEVICE_DATA_STALL_MS: storage is not keeping up. */
  stalled: boolean;
}
