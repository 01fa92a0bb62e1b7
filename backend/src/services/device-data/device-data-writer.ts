import type { Db, Prisma } from '../../db/client';
import { settleInFlight } from '../../util/flush-scheduler';

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
}

export class QueueFullError extends Error {
  constructor() {
    super('device data queue is full; reading not stored');
  }
}

/** Legacy: one awaited INSERT per device frame. */
export class ImmediateDeviceDataWriter implements DeviceDataWriter {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly prisma: Db) {}

  async store(row: DeviceRow): Promise<void> {
    const pending = this.prisma.deviceData.create({ data: row });
    this.inFlight.add(pending);
    try {
      await pending;
    } finally {
      this.inFlight.delete(pending);
    }
  }

  forget(): void {}

  drain(deadlineMs = 8000): Promise<boolean> {
    return settleInFlight(this.inFlight, deadlineMs);
  }
}
