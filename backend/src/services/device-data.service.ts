import type { Db, Prisma } from '../db/prisma';
import type { DeviceDataWriter } from './device-data/device-data-writer';

export { QueueFullError } from './device-data/device-data-writer';

export interface DeviceDataQuery {
  from?: Date;
  to?: Date;
  limit: number;
}

export class DeviceDataService {
  constructor(
    private readonly prisma: Db,
    readonly writer: DeviceDataWriter,
  ) {}

  store(endpointId: string, deviceId: string, payload: Prisma.InputJsonValue): Promise<void> {
    return this.writer.store({ endpointId, deviceId, payload, createdAt: new Date() });
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
