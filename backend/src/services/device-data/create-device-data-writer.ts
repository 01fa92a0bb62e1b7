import type { StatsMode } from '../../config';
import type { Db } from '../../db/prisma';
import { BatchedDeviceDataWriter, type BatchedDeviceDataOptions } from './batched-device-data-writer';
import type { DeviceDataWriter } from './device-data-writer';
import { ImmediateDeviceDataWriter } from './immediate-device-data-writer';

/**
 * The device-data writer STATS_MODE names. The immediate writer takes only `maxQueued` (as its
 * bound on INSERTs in flight) and `onDrop` from the batched options.
 */
export function createDeviceDataWriter(
  mode: StatsMode,
  prisma: Db,
  batched: BatchedDeviceDataOptions,
): DeviceDataWriter {
  switch (mode) {
    case 'immediate':
      return new ImmediateDeviceDataWriter(prisma, {
        maxInFlight: batched.maxQueued,
        onDrop: batched.onDrop,
      });
    case 'batched':
      return new BatchedDeviceDataWriter(prisma, batched);
  }
}
