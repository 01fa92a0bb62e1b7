import type WebSocket from 'ws';
import { logger } from '../logger';
import type { RelayCounters } from '../monitoring/metrics';

/** Shortest gap between two slot ticks; a shorter interval gets fewer slots. */
const MIN_SLOT_MS = 10;

/**
 * Pings spread over the interval: sockets are dealt into `slots` groups and one timer visits a
 * group every intervalMs/slots, so each socket is still pinged once per interval but a tick
 * touches 1/slots of them (one tick over 20,000 sockets is a burst of hundreds of ms that every
 * frame waits behind). A visit terminates a socket that did not answer its previous ping and
 * pings the rest; a mute socket goes within two intervals of its last pong. A terminated socket
 * emits `close`, and the normal close handler cleans it up everywhere.
 */
export class Heartbeat {
  private readonly awaitingPong = new WeakSet<WebSocket>();
  private readonly slots: Set<WebSocket>[];
  private next = 0;
  private timer?: NodeJS.Timeout;

  /**
   * @param intervalMs time between two pings of one socket (HEARTBEAT_INTERVAL_MS)
   * @param slots groups the sockets are spread over (HEARTBEAT_SLOTS; 1 = all at once),
   *   reduced so that a slot lasts at least 10 ms
   */
  constructor(
    private readonly intervalMs: number,
    private readonly counters: RelayCounters,
    slots = 1,
    /** Told about each socket just before it is terminated for a missed pong. */
    private readonly onMissed: (ws: WebSocket) => void = () => undefined,
  ) {
    const n = Math.max(1, Math.min(Math.floor(slots), Math.floor(intervalMs / MIN_SLOT_MS)));
    this.slots = Array.from({ length: n }, () => new Set<WebSocket>());
  }

  /** Slots in use (after the 10 ms floor). */
  get slotCount(): number {
    return this.slots.length;
  }

  /** Puts the socket in the least-filled slot until it closes. */
  watch(ws: WebSocket): void {
    let slot = this.slots[0];
    for (const s of this.slots) if (s.size < slot.size) slot = s;
    slot.add(ws);
    ws.on('pong', () => this.awaitingPong.delete(ws));
    ws.once('close', () => slot.delete(ws));
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs / this.slots.length);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const slot = this.slots[this.next];
    this.next = (this.next + 1) % this.slots.length;
    for (const ws of slot) {
      // Closing (deleted endpoint, shutdown): no longer the heartbeat's to judge.
      if (ws.readyState !== ws.OPEN) continue;
      if (this.awaitingPong.has(ws)) {
        this.counters.heartbeatTerminations++;
        this.onMissed(ws);
        logger.info('heartbeat missed, terminating socket');
        slot.delete(ws);
        ws.terminate();
        continue;
      }
      this.awaitingPong.add(ws);
      ws.ping();
    }
  }
}
