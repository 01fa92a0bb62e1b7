import { randomBytes } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';
import { logger } from '../logger';
import { maskUrl } from '../db/database-url';
import { backoffMs } from '../util/retry-backoff';
import { BusCounters, type Bus, type BusHandlers, type ControlEvent } from './bus';
import { decodeFrame, encodeFrame } from './frame-codec';

export interface RedisBusOptions {
  /** redis://[user:pass@]host:port[/db] */
  url: string;
  /** Prepended to every channel so several relays (or test runs) can share one Redis. */
  prefix: string;
  /** Longest wait for a SUBSCRIBE confirmation before a socket is accepted anyway. */
  joinTimeoutMs?: number;
  /** Reconnect delays double from 100 ms up to this. */
  maxBackoffMs?: number;
}

/**
 * Redis pub/sub driver. Two connections per process: a subscriber (one channel per endpoint that
 * has local sockets, plus the control channel) and a publisher. One publisher connection keeps
 * each sender's frames in order, since Redis delivers one connection's publishes in order.
 *
 * Redis down: publishes are dropped at once (no offline queue: a frame queued for minutes and
 * delivered after newer local traffic would be worse than a lost one), local delivery goes on,
 * ioredis reconnects with backoff and resubscribes every channel by itself.
 */
export class RedisBus implements Bus {
  readonly distributed = true;
  readonly counters = new BusCounters();
  readonly nodeId: string;
  private readonly origin = randomBytes(8);
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly controlChannel: string;
  private readonly endpointPrefix: string;
  /** endpointId -> local sockets (and upgrades about to become sockets) */
  private readonly members = new Map<string, number>();
  /** endpointId -> SUBSCRIBE in flight, so later joiners wait for the same confirmation */
  private readonly subscribing = new Map<string, Promise<unknown>>();
  private handlers?: BusHandlers;
  private down = false;
  private closing = false;

  constructor(private readonly options: RedisBusOptions) {
    this.nodeId = this.origin.toString('hex');
    this.controlChannel = `${options.prefix}control`;
    this.endpointPrefix = `${options.prefix}ep:`;
    const maxBackoff = options.maxBackoffMs ?? 5000;
    const common: RedisOptions = {
      lazyConnect: true,
      // null: a command waits for the reconnect instead of failing after N retries.
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => (this.closing ? null : backoffMs(attempt, 100, maxBackoff)),
    };
    this.pub = new Redis(options.url, {
      ...common,
      enableOfflineQueue: false,
      // Publishes issued in the same tick leave in one write.
      enableAutoPipelining: true,
      connectionName: `relay-pub-${this.nodeId}`,
    });
    this.sub = new Redis(options.url, {
      ...common,
      autoResubscribe: true,
      connectionName: `relay-sub-${this.nodeId}`,
    });
    for (const conn of [this.pub, this.sub]) {
      conn.on('error', (err: Error) => this.lost(err.message));
      conn.on('close', () => this.lost('connection closed'));
      conn.on('ready', () => this.maybeRecovered());
    }
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel, message));
  }

  get connected(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    // A relay whose Redis is down at start still serves its own clients; ioredis keeps retrying.
    await Promise.all(
      [this.pub, this.sub].map((c) => c.connect().catch((err: Error) => this.lost(err.message))),
    );
    const subscribed = this.sub.subscribe(this.controlChannel).catch(() => undefined);
    if (this.sub.status === 'ready') await subscribed;
    logger.info('cluster bus started', {
      redis: maskUrl(this.options.url),
      nodeId: this.nodeId,
      connected: this.connected,
    });
  }

  async join(endpointId: string): Promise<void> {
    const n = (this.members.get(endpointId) ?? 0) + 1;
    this.members.set(endpointId, n);
    let pending = this.subscribing.get(endpointId);
    if (n === 1) {
      pending = this.sub.subscribe(this.endpointPrefix + endpointId).catch(() => undefined);
      this.subscribing.set(endpointId, pending);
      const p = pending;
      void p.then(() => {
        if (this.subscribing.get(endpointId) === p) this.subscribing.delete(endpointId);
      });
    }
    // While Redis is down the SUBSCRIBE waits in ioredis's queue; the socket must not.
    if (!pending || this.sub.status !== 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pending,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.joinTimeoutMs ?? 2000))),
    ]);
    clearTimeout(timer);
  }

  leave(endpointId: string): void {
    const n = (this.members.get(endpointId) ?? 0) - 1;
    if (n > 0) {
      this.members.set(endpointId, n);
      return;
    }
    if (n < 0) return;
    this.members.delete(endpointId);
    this.subscribing.delete(endpointId);
    void this.sub.unsubscribe(this.endpointPrefix + endpointId).catch(() => undefined);
  }

  publish(endpointId: string, data: Buffer | string, isBinary: boolean): void {
    if (this.pub.status !== 'ready') {
      this.counters.publishDropped++;
      return;
    }
    this.counters.published++;
    this.pub.publish(this.endpointPrefix + endpointId, encodeFrame(this.origin, data, isBinary)).catch(() => {
      this.counters.published--;
      this.counters.publishDropped++;
    });
  }

  publishControl(event: ControlEvent): void {
    const lostIt = (why: string) => {
      this.counters.controlDropped++;
      logger.warn('cluster event not sent to other processes', { ...event, error: why });
    };
    if (this.pub.status !== 'ready') return lostIt('bus down');
    this.pub
      .publish(this.controlChannel, JSON.stringify({ origin: this.nodeId, ...event }))
      .catch((err: Error) => lostIt(err.message));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [this.pub, this.sub].map((c) =>
        c.status === 'ready' ? c.quit().catch(() => c.disconnect()) : Promise.resolve(c.disconnect()),
      ),
    );
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    const handlers = this.handlers;
    if (!handlers) return;
    const name = channel.toString('utf8');
    if (name === this.controlChannel) return this.onControl(message);
    if (!name.startsWith(this.endpointPrefix)) return;
    const frame = decodeFrame(message, this.origin);
    if (!frame) return;
    this.counters.received++;
    handlers.frame(name.slice(this.endpointPrefix.length), frame.payload, frame.isBinary);
  }

  private onControl(message: Buffer): void {
    let event: ControlEvent & { origin?: string };
    try {
      event = JSON.parse(message.toString('utf8')) as ControlEvent & { origin?: string };
    } catch {
      return;
    }
    if (event.origin === this.nodeId || typeof event.endpointId !== 'string') return;
    this.handlers?.control({ type: event.type, endpointId: event.endpointId } as ControlEvent);
  }

  /** Logged once per outage, however many reconnect attempts fail. */
  private lost(error: string): void {
    if (this.closing || this.down) return;
    this.down = true;
    this.counters.connected = 0;
    this.counters.disconnects++;
    logger.error('cluster bus down: frames reach this process only until Redis is back', {
      redis: maskUrl(this.options.url),
      error,
    });
  }

  private maybeRecovered(): void {
    if (!this.connected) return;
    this.counters.connected = 1;
    if (!this.down) return;
    this.down = false;
    logger.info('cluster bus reconnected', { redis: maskUrl(this.options.url) });
    this.handlers?.reconnected?.();
  }
}
