import WebSocket from 'ws';
import type { Broadcaster } from './broadcaster';

/** How long a deleted endpoint refuses sockets whose upgrade was authorised just before the delete. */
const DELETED_MEMORY_MS = 60_000;

/**
 * This process's open sockets grouped by endpoint (`Map<endpointId, Set<WebSocket>>`), and the
 * local Broadcaster: it delivers to the sockets it holds.
 */
export class ConnectionManager implements Broadcaster {
  private readonly pools = new Map<string, Set<WebSocket>>();
  private readonly deleted = new Set<string>();

  /** False when the endpoint was deleted while this socket's upgrade was being authorised. */
  add(endpointId: string, ws: WebSocket): boolean {
    if (this.deleted.has(endpointId)) return false;
    let pool = this.pools.get(endpointId);
    if (!pool) {
      pool = new Set();
      this.pools.set(endpointId, pool);
    }
    pool.add(ws);
    return true;
  }

  /** Returns false when the socket was not registered (already removed, e.g. endpoint deleted). */
  remove(endpointId: string, ws: WebSocket): boolean {
    const pool = this.pools.get(endpointId);
    if (!pool || !pool.delete(ws)) return false;
    // An empty Set per endpoint that ever had a client would grow without bound.
    if (pool.size === 0) this.pools.delete(endpointId);
    return true;
  }

  count(endpointId: string): number {
    return this.pools.get(endpointId)?.size ?? 0;
  }

  /** Sends the same bytes, with the same frame type, to every other open socket of the endpoint. */
  broadcast(endpointId: string, sender: WebSocket | null, data: Buffer | string, isBinary: boolean): number {
    const pool = this.pools.get(endpointId);
    if (!pool) return 0;
    let delivered = 0;
    for (const client of pool) {
      if (client !== sender && client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
        delivered++;
      }
    }
    return delivered;
  }

  /** Closes and forgets every socket of a deleted endpoint, and refuses late arrivals for a while. */
  closeEndpoint(endpointId: string, code: number, reason: string): number {
    this.deleted.add(endpointId);
    setTimeout(() => this.deleted.delete(endpointId), DELETED_MEMORY_MS).unref();
    const pool = this.pools.get(endpointId);
    if (!pool) return 0;
    this.pools.delete(endpointId);
    for (const ws of pool) ws.close(code, reason);
    return pool.size;
  }

  *perEndpoint(): IterableIterator<[string, number]> {
    for (const [endpointId, pool] of this.pools) yield [endpointId, pool.size];
  }

  *sockets(): IterableIterator<WebSocket> {
    for (const pool of this.pools.values()) yield* pool;
  }
}
