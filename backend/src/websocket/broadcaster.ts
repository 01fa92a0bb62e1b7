import type WebSocket from 'ws';

/**
 * Delivers a frame to the sockets of an endpoint. The router calls it once per frame; today the
 * local ConnectionManager implements it. A cross-process bus (several relay processes acting as
 * one) implements it too, delivering locally and publishing to its peers, without the router
 * changing.
 */
export interface Broadcaster {
  /**
   * Sends `data` unchanged (same bytes, text or binary per `isBinary`) to every open socket of
   * `endpointId` except `sender` (null: to all, for messages from the relay itself). Returns
   * how many sockets of this process it was handed to; sockets not open are skipped, and a
   * socket this frame leaves holding more than WS_MAX_BUFFERED_BYTES unsent is dropped instead
   * (terminated, forgotten, counted as a slow_consumer disconnect) and not counted.
   */
  broadcast(endpointId: string, sender: WebSocket | null, data: Buffer | string, isBinary: boolean): number;
}
