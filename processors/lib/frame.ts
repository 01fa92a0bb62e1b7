/**
 * Wire format of a load-test frame: `<endpointSlot>:<senderId>:<seq>:<dueAtMs>:<sentAtMs>:<padding>`.
 *
 * Plain text with fixed field order so the receiving side can parse it with a
 * few indexOf calls: at tens of thousands of deliveries per second the
 * generator's own parsing cost would otherwise show up as relay latency.
 * `dueAtMs` is when the sender's open-loop schedule wanted the frame to leave,
 * `sentAtMs` when it was handed to the socket; the receiver measures latency
 * from both (see processors/lib/latency.ts for why both exist). Both are epoch
 * milliseconds with sub-millisecond precision (performance.timeOrigin +
 * performance.now()), comparable across worker threads of one process and,
 * to the clock's sync, across processes of one machine.
 */
export interface Frame {
  endpointSlot: number;
  senderId: number;
  seq: number;
  dueAtMs: number;
  sentAtMs: number;
}

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function encodeFrame(frame: Frame, padding: string): string {
  return `${frame.endpointSlot}:${frame.senderId}:${frame.seq}:${frame.dueAtMs.toFixed(3)}:${frame.sentAtMs.toFixed(3)}:${padding}`;
}

/** Roughly the header's length with 7-digit sender ids and epoch-ms stamps; padding makes up the rest. */
const HEADER_ESTIMATE = 52;

/** Padding that brings a frame to roughly `payloadBytes` (never below the header size). */
export function makePadding(payloadBytes: number): string {
  return 'x'.repeat(Math.max(0, payloadBytes - HEADER_ESTIMATE));
}

/** Returns null for anything that is not one of our frames instead of throwing. */
export function decodeFrame(data: unknown): Frame | null {
  const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('latin1') : null;
  if (text === null) return null;
  const a = text.indexOf(':');
  const b = text.indexOf(':', a + 1);
  const c = text.indexOf(':', b + 1);
  const d = text.indexOf(':', c + 1);
  const e = text.indexOf(':', d + 1);
  if (a <= 0 || b < 0 || c < 0 || d < 0 || e < 0) return null;
  const endpointSlot = Number(text.slice(0, a));
  const senderId = Number(text.slice(a + 1, b));
  const seq = Number(text.slice(b + 1, c));
  const dueAtMs = Number(text.slice(c + 1, d));
  const sentAtMs = Number(text.slice(d + 1, e));
  if (
    !Number.isFinite(endpointSlot) ||
    !Number.isFinite(senderId) ||
    !Number.isFinite(seq) ||
    !Number.isFinite(dueAtMs) ||
    !Number.isFinite(sentAtMs)
  )
    return null;
  return { endpointSlot, senderId, seq, dueAtMs, sentAtMs };
}

/**
 * A load frame as a device reading the relay stores and checks against alert rules:
 * `{"type":"device_data","deviceId":...,"data":{"value":<value>,"e2e":"<load frame>"}}`. The
 * relay forwards it byte for byte like any frame, so receivers find the same load frame (and
 * its padding) in `data.e2e` and account for it exactly as for a plain one. `deviceId` must be
 * JSON-safe text (the processor's own ids are).
 */
export function encodeReadingFrame(frame: Frame, padding: string, deviceId: string, value: number): string {
  return `{"type":"device_data","deviceId":"${deviceId}","data":{"value":${value},"e2e":"${encodeFrame(frame, padding)}"}}`;
}

const E2E_FIELD = '"e2e":"';
/** How the relay's own JSON frames start (JSON.stringify of `{ type, ... }` in message-router.ts). */
const ALERT_PREFIX = '{"type":"alert"';
const ERROR_PREFIX = '{"type":"error"';

/**
 * What a received frame is: a load frame (plain, or carried in a device reading), the relay's
 * alert broadcast, the relay's error answer to a reading, or null for anything else. Plain
 * frames pay one character test more than decodeFrame.
 */
export function classifyFrame(data: unknown): Frame | 'alert' | 'error' | null {
  const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('latin1') : null;
  if (text === null) return null;
  if (text.charCodeAt(0) !== 123 /* { */) return decodeFrame(text);
  if (text.startsWith(ALERT_PREFIX)) return 'alert';
  if (text.startsWith(ERROR_PREFIX)) return 'error';
  const at = text.lastIndexOf(E2E_FIELD);
  if (at < 0) return null;
  const start = at + E2E_FIELD.length;
  const end = text.indexOf('"', start);
  return end < 0 ? null : decodeFrame(text.slice(start, end));
}
