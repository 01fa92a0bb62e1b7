import type { Db } from '../../db/prisma';
import { settleInFlight } from '../../util/flush-scheduler';
import {
  QueueFullError,
  type DeviceDataBacklog,
  type DeviceDataWriter,
  type DeviceRow,
} from './device-data-writer';

export interface ImmediateDeviceDataOptions {
  /**
   * Most INSERTs in flight at once (DEVICE_DATA_QUEUE_MAX, the batched queue's bound): a slow
   * database would otherwise hold an unbounded number of readings in memory, each waiting for
   * its own statement. Beyond it a reading is refused with QueueFullError, as the batched
   * writer refuses one beyond its queue.
   */
  maxInFlight: number;
  /** A reading refused because maxInFlight were pending (relay_device_data_dropped_total). */
  onDrop?: () => void;
}

/** Legacy: one awaited INSERT per device frame. */
export class ImmediateDeviceDataWriter implements DeviceDataWriter {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly prisma: Db,
    private readonly options: ImmediateDeviceDataOptions = { maxInFlight: Infinity },
  ) {}

  /** Resolves once the row is written; rejects with the database's error, or QueueFullError when backed up. */
  async store(row: DeviceRow): Promise<void> {
    if (this.inFlight.size >= this.options.maxInFlight) {
      this.options.onDrop?.();
      throw new QueueFullError();
    }
    const pending = this.prisma.deviceData.create({ data: row });
    this.inFlight.add(pending);
    try {
      await pending;
    } finally {
      this.inFlight.delete(pending);
    }
  }

  forget(): void {}

  /** Nothing is queued in memory, so there is nothing to gauge. */
  registerMetrics(): void {}

  /** Each reading is written as it arrives; only writes in flight are outstanding. */
  readonly unwritten = 0;

  /** Nothing waits in memory: a reading is either written or its sender was told it failed. */
  backlog(): DeviceDataBacklog {
    return { rows: 0, oldestMs: 0, stalled: false };
  }

  drain(deadlineMs = 8000): Promise<boolean> {
    return settleInFlight(this.inFlight, deadlineMs);
  }
}
