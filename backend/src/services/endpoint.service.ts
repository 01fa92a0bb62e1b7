import { randomUUID } from 'node:crypto';
import type { Db } from '../db/prisma';
import { newToken, hashToken, tokenMatchesHash } from '../util/token';

export interface EndpointSummary {
  id: string;
  name: string;
  createdAt: Date;
}

export type TokenCheck = 'ok' | 'unknown-endpoint' | 'bad-token';

const CANONICAL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * True for an id in the one form `create` issues (a lower-case UUID). Anything else names no
 * endpoint: it is answered as unknown without asking the database, so no collation can make an
 * upper-case or padded variant match a row the relay's in-memory maps would not.
 */
export function isEndpointId(id: string): boolean {
  return CANONICAL_ID.test(id);
}

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

  /** null for an unknown or non-canonical id (see isEndpointId). */
  async find(id: string): Promise<EndpointSummary | null> {
    if (!isEndpointId(id)) return null;
    return this.prisma.endpoint.findUnique({
      where: { id },
      select: { id: true, name: true, createdAt: true },
    });
  }

  /** Deletes the endpoint and, by cascade, its stats, device data, rules and alerts. */
  async remove(id: string): Promise<boolean> {
    if (!isEndpointId(id)) return false;
    const { count } = await this.prisma.endpoint.deleteMany({ where: { id } });
    return count > 0;
  }

  async checkToken(id: string, token: string | undefined): Promise<TokenCheck> {
    if (!isEndpointId(id)) return 'unknown-endpoint';
    const row = await this.prisma.endpoint.findUnique({ where: { id }, select: { tokenHash: true } });
    if (!row) return 'unknown-endpoint';
    return token && tokenMatchesHash(token, row.tokenHash) ? 'ok' : 'bad-token';
  }
}
