import type WebSocket from 'ws';
import { logger } from '../logger';
import type { RelayCounters } from '../monitoring/metrics';

/**
 * One timer for all sockets: each tick terminates the sockets that did not answer the
 * previous ping and pings the rest. A terminated socket emits `close`, and the normal close
 * handler cleans it up everywhere.
 */
export class Heartbeat {
  private readonly awaitingPong = new WeakSet<WebSocket>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly intervalMs: number,
    private readonly sockets: () => Iterable<WebSocket>,
    private readonly counters: RelayCounters,
    /** Told about each socket just before it is terminated for a missed pong. */
    private readonly onMissed: (ws: WebSocket) => void = () => undefined,
  ) {}

  watch(ws: WebSocket): void {
    ws.on('pong', () => this.awaitingPong.delete(ws));
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    for (const ws of this.sockets()) {
      if (this.awaitingPong.has(ws)) {
        this.counters.heartbeatTerminations++;
        this.onMissed(ws);
        logger.info('heartbeat missed, terminating socket');
        ws.terminate();
        continue;
      }
      this.awaitingPong.add(ws);
      ws.ping();
    }
  }
}
