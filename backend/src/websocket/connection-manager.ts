import WebSocket from 'ws';

/** Open sockets grouped by endpoint: `Map<endpointId, Set<WebSocket>>`. */
export class ConnectionManager {
  private readonly pools = new Map<string, Set<WebSocket>>();

  add(endpointId: string, ws: WebSocket): void {
    let pool = this.pools.get(endpointId);
    if (!pool) {
      pool = new Set();
      this.pools.set(endpointId, pool);
    }
    pool.add(ws);
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

  get endpointCount(): number {
    return this.pools.size;
  }

  get connectionCount(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.size;
    return n;
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

  /** Closes and forgets every socket of one endpoint. */
  closeEndpoint(endpointId: string, code: number, reason: string): number {
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
