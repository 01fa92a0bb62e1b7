import type { Db, Prisma } from '../db/prisma';
import type { DeviceDataWriter } from './device-data/device-data-writer';

import { checkReading } from './device-data/reading-check';

export { QueueFullError } from './device-data/device-data-writer';
export { RejectedReadingError } from './device-data/reading-check';

export interface DeviceDataQuery {
  from?: Date;
  to?: Date;
  limit: number;
}

export class DeviceDataService {
  constructor(
    private readonly prisma: Db,
    readonly writer: DeviceDataWriter,
    /** The dialect's maxJsonDepth; the default is the smallest of the supported databases. */
    private readonly maxJsonDepth = 31,
  ) {}

  /**
   * Queues (batched) or writes (immediate) one reading, `payload` as JSON.parse produced it.
   * Rejects with RejectedReadingError, before queueing, when the database would refuse or
   * alter the reading, and with QueueFullError when the queue is full.
   */
  store(endpointId: string, deviceId: string, payload: Prisma.InputJsonValue): Promise<void> {
    const rejected = checkReading(deviceId, payload, this.maxJsonDepth);
    if (rejected) return Promise.reject(rejected);
    return this.writer.store({ endpointId, deviceId, payload, createdAt: new Date() });
  }

  /** How many readings of this device are stored: exact (COUNT over the ids' index), for load-test checks. */
  count(endpointId: string, deviceId: string): Promise<number> {
    return this.prisma.deviceData.count({ where: { endpointId, deviceId } });
  }

  /** Newest first. */
  query(endpointId: string, deviceId: string, { from, to, limit }: DeviceDataQuery) {
    return this.prisma.deviceData.findMany({
      where: { endpointId, deviceId, createdAt: { gte: from, lte: to } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      select: { id: true, deviceId: true, payload: true, createdAt: true },
    });
  }
}
