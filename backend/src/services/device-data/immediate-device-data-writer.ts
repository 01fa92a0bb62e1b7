import type { Db } from '../../db/prisma';
import { settleInFlight } from '../../util/flush-scheduler';
import type { DeviceDataBacklog, DeviceDataWriter, DeviceRow } from './device-data-writer';

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
