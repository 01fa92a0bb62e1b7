import { randomUUID } from 'node:crypto';
import type { Db } from '../db/prisma';
import { newToken, hashToken, tokenMatchesHash } from '../util/token';

export interface EndpointSummary {
  id: string;
  name: string;
  createdAt: Date;
}

export type TokenCheck = 'ok' | 'unknown-endpoint' | 'bad-token';

export class EndpointService {
  constructor(private readonly prisma: Db) {}

  /** Returns the endpoint with its token; only the token's hash is stored. */
  async create(name: string): Promise<EndpointSummary & { token: string }> {
    const token = newToken();
    // The zeroed stats row is created with the endpoint: one transaction, one commit.
    const endpoint = await this.prisma.endpoint.create({
      data: { id: randomUUID(), name, tokenHash: hashToken(token), stats: { create: {} } },
      select: { id: true, name: true, createdAt: true },
    });
    return { ...endpoint, token };
  }

  list(): Promise<EndpointSummary[]> {
    return this.prisma.endpoint.findMany({
      select: { id: true, name: true, createdAt: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  find(id: string): Promise<EndpointSummary | null> {
    return this.prisma.endpoint.findUnique({
      where: { id },
      select: { id: true, name: true, createdAt: true },
    });
  }

  /** Deletes the endpoint and, by cascade, its stats, device data, rules and alerts. */
  async remove(id: string): Promise<boolean> {
    const { count } = await this.prisma.endpoint.deleteMany({ where: { id } });
    return count > 0;
  }

  async checkToken(id: string, token: string | undefined): Promise<TokenCheck> {
    const row = await this.prisma.endpoint.findUnique({ where: { id }, select: { tokenHash: true } });
    if (!row) return 'unknown-endpoint';
    return token && tokenMatchesHash(token, row.tokenHash) ? 'ok' : 'bad-token';
  }
}
