import type { StatsMode } from '../../config';
import type { Db } from '../../db/prisma';
import { BatchedDeviceDataWriter, type BatchedDeviceDataOptions } from './batched-device-data-writer';
import type { DeviceDataWriter } from './device-data-writer';
import { ImmediateDeviceDataWriter } from './immediate-device-data-writer';

/** The device-data writer STATS_MODE names; `batched` options are used by the batched writer only. */
export function createDeviceDataWriter(
  mode: StatsMode,
  prisma: Db,
  batched: BatchedDeviceDataOptions,
): DeviceDataWriter {
  switch (mode) {
    case 'immediate':
      return new ImmediateDeviceDataWriter(prisma);
    case 'batched':
      return new BatchedDeviceDataWriter(prisma, batched);
  }
}
