import { randomUUID } from 'node:crypto';
import type { Db } from '../db/prisma';
import { newToken, hashToken, tokenMatchesHash } from '../util/token';
import { Semaphore, TokenHashCache } from './verified-tokens';

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

/** How the connect path's token checks meet the database (TOKEN_CACHE_*, TOKEN_CHECK_CONCURRENCY). */
export interface TokenCheckOptions {
  /** Endpoints whose token hash is kept in memory (0: every check asks the database). */
  cacheSize: number;
  /** How long a cached hash is trusted, in ms (bounds how late another process's delete is seen). */
  cacheTtlMs: number;
  /** Most token lookups in flight against the database at once; the rest queue. */
  maxConcurrentLookups: number;
}

const DEFAULT_TOKEN_CHECKS: TokenCheckOptions = { cacheSize: 0, cacheTtlMs: 0, maxConcurrentLookups: 4 };

export class EndpointService {
  private readonly tokenHashes: TokenHashCache;
  /** Token lookups waiting for or holding a database turn (gauge material, tests). */
  readonly lookups: Semaphore;
  /** One database lookup per endpoint at a time: a storm on one endpoint asks once. */
  private readonly inFlight = new Map<string, Promise<string | null>>();
  /** Bumped by every invalidation: a lookup that began before one does not fill the cache. */
  private generation = 0;

  constructor(
    private readonly prisma: Db,
    tokenChecks: TokenCheckOptions = DEFAULT_TOKEN_CHECKS,
  ) {
    this.tokenHashes = new TokenHashCache(tokenChecks.cacheSize, tokenChecks.cacheTtlMs);
    this.lookups = new Semaphore(tokenChecks.maxConcurrentLookups);
  }

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
    this.invalidateToken(id);
    try {
      const { count } = await this.prisma.endpoint.deleteMany({ where: { id } });
      return count > 0;
    } finally {
      // Again once committed: a lookup that read the row before the commit must not cache it.
      this.invalidateToken(id);
    }
  }

  /**
   * Forgets what this process verified about the endpoint's token: the next connect asks the
   * database. Called on delete; a cross-process bus calls it for deletes made elsewhere.
   */
  invalidateToken(id: string): void {
    this.generation++;
    this.tokenHashes.delete(id);
    this.inFlight.delete(id);
  }

  /**
   * The connect path's token check: from the cache of verified endpoints when it holds the
   * endpoint, else one database lookup per endpoint at a time, at most maxConcurrentLookups at
   * once. Rejects when the database does (the caller answers 503).
   */
  async checkToken(id: string, token: string | undefined): Promise<TokenCheck> {
    if (!isEndpointId(id)) return 'unknown-endpoint';
    const hash = this.tokenHashes.get(id) ?? (await this.lookupTokenHash(id));
    if (hash === null) return 'unknown-endpoint';
    return token && tokenMatchesHash(token, hash) ? 'ok' : 'bad-token';
  }

  private lookupTokenHash(id: string): Promise<string | null> {
    const pending = this.inFlight.get(id);
    if (pending) return pending;
    const generation = this.generation;
    const lookup = this.lookups
      .run(() => this.prisma.endpoint.findUnique({ where: { id }, select: { tokenHash: true } }))
      .then((row) => {
        if (row && generation === this.generation) this.tokenHashes.set(id, row.tokenHash);
        return row?.tokenHash ?? null;
      })
      .finally(() => {
        if (this.inFlight.get(id) === lookup) this.inFlight.delete(id);
      });
    this.inFlight.set(id, lookup);
    return lookup;
  }
}
