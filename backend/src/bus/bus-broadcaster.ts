import type WebSocket from 'ws';
import type { Broadcaster } from '../websocket/broadcaster';
import type { Bus } from './bus';

/**
 * The Broadcaster of a relay running as several processes: delivers to this process's sockets
 * first (their latency never depends on Redis), then publishes the frame once, whatever the
 * number of recipients elsewhere. Publishing never waits.
 */
export class BusBroadcaster implements Broadcaster {
  constructor(
    private readonly local: Broadcaster,
    private readonly bus: Bus,
  ) {}

  /** Returns the local deliveries only; other processes count theirs. */
  broadcast(endpointId: string, sender: WebSocket | null, data: Buffer | string, isBinary: boolean): number {
    const delivered = this.local.broadcast(endpointId, sender, data, isBinary);
    this.bus.publish(endpointId, data, isBinary);
    return delivered;
  }
}
