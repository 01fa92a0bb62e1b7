import type { Db } from '../../db/prisma';
import { settleInFlight } from '../../util/flush-scheduler';
import type { DeviceDataWriter, DeviceRow } from './device-data-writer';

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

  drain(deadlineMs = 8000): Promise<boolean> {
    return settleInFlight(this.inFlight, deadlineMs);
  }
}
