/**
 * Delivery accounting inside one generator worker thread.
 *
 * A delivery is owed to receiver R for a frame from sender S when R was
 * registered and counting at the moment S sent it. The relay registers a socket
 * before the client sees the upgrade complete, so anything owed this way must
 * arrive. A frame that arrives without being owed is "uncounted" when its send
 * stamp lies outside R's counting interval (sent before R joined, e.g. R opened
 * after the window began, or after R stopped, e.g. a churned socket): expected,
 * benign. Otherwise it is "extra": sent while R counted, yet this thread's ledger
 * did not owe it to R, so its sender is not in this ledger (peers split across
 * generator workers) and the accounting is not exact. Neither counts as
 * delivered nor as a duplicate.
 *
 * Owed frames from one sender form a contiguous seq range [lo, hi] per receiver
 * (the sender's seq is monotonic and R's counting window is one interval), so
 * per (receiver, sender) we keep a range, the highest seq seen and a set of
 * gaps: O(1) memory when the relay behaves, exact under loss and reordering.
 */

const MAX_TRACKED_GAPS = 100_000;

class SenderTrack {
  lo: number;
  hi: number;
  maxSeen: number;
  /** Seqs skipped over that may still arrive; made on the first gap (most tracks never have one). */
  gaps: Set<number> | null = null;

  constructor(firstSeq: number) {
    this.lo = firstSeq;
    this.hi = firstSeq;
    this.maxSeen = firstSeq - 1;
  }
}

export type ReceiveOutcome = 'delivered' | 'duplicated' | 'reordered' | 'misrouted' | 'uncounted' | 'extra';

export interface DeliveryTotals {
  expected: number;
  delivered: number;
  duplicated: number;
  misrouted: number;
  reordered: number;
  uncounted: number;
  extra: number;
}

export class Receiver {
  /**
   * Start of the counting interval, in the ms of the send stamps (processors' nowMs): set by
   * Ledger.join. -Infinity until then, so an unowed frame is never taken for an early one.
   */
  joinedAtMs = -Infinity;
  /** End of the counting interval (stopCounting); Infinity while counting. */
  stoppedAtMs = Infinity;
  readonly totals: DeliveryTotals = {
    expected: 0,
    delivered: 0,
    duplicated: 0,
    misrouted: 0,
    reordered: 0,
    uncounted: 0,
    extra: 0,
  };
  private readonly senders = new Map<number, SenderTrack>();

  constructor(
    readonly id: number,
    readonly endpointSlot: number,
  ) {}

  /** Whether peers' sends are owed to this receiver (between join and stopCounting). */
  get counting(): boolean {
    return this.stoppedAtMs === Infinity;
  }

  /** Nothing sent from `atMs` on is owed to this receiver. Only the first call counts. */
  stopCounting(atMs: number): void {
    if (this.counting) this.stoppedAtMs = atMs;
  }

  owe(senderId: number, seq: number): void {
    const track = this.senders.get(senderId);
    if (track) track.hi = seq;
    else this.senders.set(senderId, new SenderTrack(seq));
    this.totals.expected++;
  }

  /**
   * Books one arriving frame. `sentAtMs` is the frame's send stamp (NaN when unknown: an unowed
   * frame is then `extra`). A sender stamps after Ledger.recordSend in the same synchronous
   * step, so a frame not owed to a receiver that was counting then carries a stamp at or
   * before its join, or at or after its stop; anything in between is `extra`.
   */
  receive(endpointSlot: number, senderId: number, seq: number, sentAtMs = NaN): ReceiveOutcome {
    const t = this.totals;
    if (endpointSlot !== this.endpointSlot || senderId === this.id) {
      t.misrouted++;
      return 'misrouted';
    }
    const track = this.senders.get(senderId);
    if (!track || seq < track.lo || seq > track.hi) {
      if (sentAtMs <= this.joinedAtMs || sentAtMs >= this.stoppedAtMs) {
        t.uncounted++;
        return 'uncounted';
      }
      t.extra++;
      return 'extra';
    }
    if (seq > track.maxSeen) {
      // Everything skipped over is a gap that may still be filled by a late frame.
      const gapStart = Math.max(track.maxSeen + 1, track.lo);
      if (gapStart < seq) {
        const gaps = (track.gaps ??= new Set());
        for (let s = gapStart; s < seq && gaps.size < MAX_TRACKED_GAPS; s++) gaps.add(s);
      }
      track.maxSeen = seq;
      t.delivered++;
      return 'delivered';
    }
    if (track.gaps?.delete(seq)) {
      t.delivered++;
      t.reordered++;
      return 'reordered';
    }
    t.duplicated++;
    return 'duplicated';
  }

  /** Owed but not (yet) delivered. */
  outstanding(): number {
    return this.totals.expected - this.totals.delivered;
  }
}

/** Which receivers are open on which endpoint slot, as seen by this worker. */
export class Ledger {
  private readonly members = new Map<number, Set<Receiver>>();

  /**
   * `receiver` counts from `atMs` (the processors' nowMs, the clock of the send stamps) on;
   * without it, every unowed frame sent before its stop is `extra`.
   */
  join(receiver: Receiver, atMs = -Infinity): void {
    receiver.joinedAtMs = atMs;
    let set = this.members.get(receiver.endpointSlot);
    if (!set) this.members.set(receiver.endpointSlot, (set = new Set()));
    set.add(receiver);
  }

  leave(receiver: Receiver): void {
    this.members.get(receiver.endpointSlot)?.delete(receiver);
  }

  /** Records that `sender` is about to send `seq`: every other counting peer is owed it. Returns how many are. */
  recordSend(sender: Receiver, seq: number): number {
    const peers = this.members.get(sender.endpointSlot);
    if (!peers) return 0;
    let owed = 0;
    for (const peer of peers) {
      if (peer !== sender && peer.counting) {
        peer.owe(sender.id, seq);
        owed++;
      }
    }
    return owed;
  }
}
