/**
 * Wire format of a load-test frame: `<endpointSlot>:<senderId>:<seq>:<sentAtMs>:<padding>`.
 *
 * Plain text with fixed field order so the receiving side can parse it with a
 * few indexOf calls: at tens of thousands of deliveries per second the
 * generator's own parsing cost would otherwise show up as relay latency.
 * `sentAtMs` is epoch milliseconds with sub-millisecond precision
 * (performance.timeOrigin + performance.now()), comparable across worker
 * threads of one process.
 */
export interface Frame {
  endpointSlot: number;
  senderId: number;
  seq: number;
  sentAtMs: number;
}

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function encodeFrame(frame: Frame, padding: string): string {
  return `${frame.endpointSlot}:${frame.senderId}:${frame.seq}:${frame.sentAtMs.toFixed(3)}:${padding}`;
}

/** Padding that brings a frame to roughly `payloadBytes` (never below the header size). */
export function makePadding(payloadBytes: number): string {
  const headerEstimate = 40;
  return 'x'.repeat(Math.max(0, payloadBytes - headerEstimate));
}

/** Returns null for anything that is not one of our frames instead of throwing. */
export function decodeFrame(data: unknown): Frame | null {
  const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : null;
  if (text === null) return null;
  const a = text.indexOf(':');
  const b = text.indexOf(':', a + 1);
  const c = text.indexOf(':', b + 1);
  const d = text.indexOf(':', c + 1);
  if (a <= 0 || b < 0 || c < 0 || d < 0) return null;
  const endpointSlot = Number(text.slice(0, a));
  const senderId = Number(text.slice(a + 1, b));
  const seq = Number(text.slice(b + 1, c));
  const sentAtMs = Number(text.slice(c + 1, d));
  if (![endpointSlot, senderId, seq, sentAtMs].every(Number.isFinite)) return null;
  return { endpointSlot, senderId, seq, sentAtMs };
}
