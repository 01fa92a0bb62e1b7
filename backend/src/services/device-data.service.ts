import type { Db, Prisma } from '../db/client';

export interface DeviceDataQuery {
  from?: Date;
  to?: Date;
  limit: number;
}

export class DeviceDataService {
  constructor(private readonly prisma: Db) {}

  async store(endpointId: string, deviceId: string, payload: Prisma.InputJsonValue): Promise<void> {
    await this.prisma.deviceData.create({ data: { endpointId, deviceId, payload } });
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
