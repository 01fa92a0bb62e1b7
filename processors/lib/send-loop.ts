/**
 * One send timer per generator thread instead of one per connection.
 *
 * With a timer chain per connection, 5,000 msg/s over 500 connections is 5,000
 * timer callbacks a second, each a separate macrotask between which Node polls
 * for I/O; the incoming deliveries then wait behind a long line of tiny tasks.
 * Here every connection's next due time sits in a min-heap and a single timer
 * wakes up for the earliest, sends everything due by then across all
 * connections, and re-arms: a few hundred wake-ups a second at most, like an
 * open-loop driver's single schedule loop.
 */
import { nowMs } from './frame';

export interface Sender {
  /** epoch ms at which this sender next has a frame due; Infinity when it has nothing more to send */
  nextDueMs(): number;
  /** sends whatever is due by `now` (ms); afterwards nextDueMs() must be later than `now` */
  sendDue(now: number): void;
}

export class SendLoop {
  private heap: { at: number; sender: Sender }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly clock: () => number = nowMs) {}

  /** Starts serving `sender`; it is dropped once its nextDueMs() is Infinity (or after remove()). */
  add(sender: Sender): void {
    this.push(sender);
    this.arm();
  }

  remove(sender: Sender): void {
    const i = this.heap.findIndex((e) => e.sender === sender);
    if (i < 0) return;
    const last = this.heap.pop()!;
    if (i < this.heap.length) {
      this.heap[i] = last;
      this.down(i);
      this.up(i);
    }
  }

  /** Drops every sender and the pending timer. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    this.heap = [];
  }

  get size(): number {
    return this.heap.length;
  }

  /** Sends everything due by now across all senders; exposed so tests can drive a virtual clock. */
  runDue(now = this.clock()): void {
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const top = this.heap[0];
      top.sender.sendDue(now);
      const next = top.sender.nextDueMs();
      if (next === Infinity) {
        const last = this.heap.pop()!;
        if (this.heap.length > 0) {
          this.heap[0] = last;
          this.down(0);
        }
      } else {
        top.at = next;
        this.down(0);
      }
    }
  }

  private tick = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    this.runDue();
    this.arm();
  };

  private arm(): void {
    if (this.heap.length === 0) return;
    const at = this.heap[0].at;
    if (this.timer && at >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(this.tick, Math.max(0, at - this.clock()));
  }

  private push(sender: Sender): void {
    const at = sender.nextDueMs();
    if (at === Infinity) return;
    this.heap.push({ at, sender });
    this.up(this.heap.length - 1);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].at < h[m].at) m = l;
      if (r < h.length && h[r].at < h[m].at) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}
