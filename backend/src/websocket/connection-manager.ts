import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { logger } from '../logger';
import type { DisconnectReason } from '../monitoring/metrics';
import type { Broadcaster } from './broadcaster';
import { prebuildFrame, sendPrebuilt, type PrebuiltFrame } from './prebuilt-frame';
import { WriteCoalescer } from './write-coalescer';

/** How long a deleted endpoint refuses sockets whose upgrade was authorised just before the delete. */
const DELETED_MEMORY_MS = 60_000;

/**
 * Told once per socket the manager dropped, after it was terminated and forgotten (its later
 * 'close' finds it unregistered, so nothing is counted twice). `bufferedBytes`: what the relay
 * held for it at the drop.
 */
export type DropListener = (endpointId: string, reason: DisconnectReason, bufferedBytes: number) => void;

/**
 * This process's open sockets grouped by endpoint (`Map<endpointId, Set<WebSocket>>`), and the
 * local Broadcaster: it delivers to the sockets it holds.
 */
export class ConnectionManager implements Broadcaster {
  private readonly pools = new Map<string, Set<WebSocket>>();
  private readonly deleted = new Set<string>();
  private dropListener: DropListener = () => undefined;
  private leaveListener: (endpointId: string) => void = () => undefined;
  private readonly writes = new WriteCoalescer();

  /**
   * @param maxBufferedBytes most bytes (WS_MAX_BUFFERED_BYTES) the relay holds for one socket
   *   that is not reading; a broadcast that leaves more queued for it drops the socket.
   */
  constructor(private readonly maxBufferedBytes = Number.POSITIVE_INFINITY) {}

  /** Where drops are reported (stats, metrics); one listener, set by the WebSocket server. */
  onDrop(listener: DropListener): void {
    this.dropListener = listener;
  }

  /**
   * Told once for every socket that leaves a pool, however it left (closed, dropped, endpoint
   * deleted): the cluster bus unsubscribes from an endpoint when its last local socket is gone.
   */
  onLeave(listener: (endpointId: string) => void): void {
    this.leaveListener = listener;
  }

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
    this.leaveListener(endpointId);
    return true;
  }

  count(endpointId: string): number {
    return this.pools.get(endpointId)?.size ?? 0;
  }

  /**
   * Sends the same bytes, with the same frame type, to every other open socket of the endpoint.
   * The WebSocket frame is built once, on the first recipient, and the same bytes are written to
   * each (see prebuilt-frame.ts). A socket left holding more than maxBufferedBytes by this frame
   * is dropped (see drop) and not counted as delivered.
   */
  broadcast(endpointId: string, sender: WebSocket | null, data: Buffer | string, isBinary: boolean): number {
    const pool = this.pools.get(endpointId);
    if (!pool) return 0;
    let frame: PrebuiltFrame | undefined;
    let delivered = 0;
    for (const client of pool) {
      if (client !== sender && client.readyState === WebSocket.OPEN) {
        const socket = (client as unknown as { _socket: Socket })._socket;
        this.writes.hold(socket);
        sendPrebuilt(client, (frame ??= prebuildFrame(data, isBinary)));
        // Checked after the send: the frame that takes the backlog past the cap drops the socket
        // at once (and is freed with it), a backlog at or under the cap is left alone.
        // bufferedAmount is two field reads (ws's queue + the socket's writableLength). It
        // includes this turn's corked frames, so past the cap they are handed to the kernel
        // first: a reading client's kernel takes them at once and it reads under the cap again.
        let buffered = client.bufferedAmount;
        if (buffered > this.maxBufferedBytes && this.writes.release(socket)) buffered = client.bufferedAmount;
        if (buffered > this.maxBufferedBytes) this.drop(endpointId, client, buffered);
        else delivered++;
      }
    }
    return delivered;
  }

  /**
   * terminate(), not close(code): a close frame would queue behind the very backlog we want
   * rid of (freed only when ws's 30 s close timeout fires), while destroying the TCP socket
   * frees the buffered bytes at once. The client sees 1006, as for a missed heartbeat.
   * Deleting from the Set being iterated is safe: iteration goes on with the next socket.
   */
  private drop(endpointId: string, ws: WebSocket, bufferedBytes: number): void {
    ws.terminate();
    this.remove(endpointId, ws);
    logger.warn('slow consumer dropped', {
      endpointId,
      bufferedBytes,
      maxBufferedBytes: this.maxBufferedBytes,
    });
    this.dropListener(endpointId, 'slow_consumer', bufferedBytes);
  }

  /** Closes and forgets every socket of a deleted endpoint, and refuses late arrivals for a while. */
  closeEndpoint(endpointId: string, code: number, reason: string): number {
    this.deleted.add(endpointId);
    setTimeout(() => this.deleted.delete(endpointId), DELETED_MEMORY_MS).unref();
    const pool = this.pools.get(endpointId);
    if (!pool) return 0;
    this.pools.delete(endpointId);
    for (const ws of pool) {
      ws.close(code, reason);
      this.leaveListener(endpointId);
    }
    return pool.size;
  }

  *perEndpoint(): IterableIterator<[string, number]> {
    for (const [endpointId, pool] of this.pools) yield [endpointId, pool.size];
  }

  *sockets(): IterableIterator<WebSocket> {
    for (const pool of this.pools.values()) yield* pool;
  }
}
