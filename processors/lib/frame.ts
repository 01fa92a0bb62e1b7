/**
 * Wire format of a load-test frame: `<endpointSlot>:<senderId>:<seq>:<dueAtMs>:<sentAtMs>:<padding>`.
 *
 * Plain text with fixed field order so the receiving side can parse it in one
 * pass over the header's bytes (a Buffer, as ws 8 hands text frames) or a few
 * indexOf calls (a string): at tens of thousands of deliveries per second the
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

// Read once: the getter validates its receiver on every call, a tenth of a µs per stamp at
// 50,000 stamps a second; the origin of a thread's clock never changes.
const TIME_ORIGIN = performance.timeOrigin;

/** Epoch ms with sub-ms precision: this thread's performance.timeOrigin + performance.now(). */
export function nowMs(): number {
  return TIME_ORIGIN + performance.now();
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

/**
 * Returns null for anything that is not one of our frames instead of throwing. A string or a
 * Buffer (read as latin1); a Buffer whose header is in the encoder's own shape is read from its
 * bytes (decodeBytes), anything else as text, with the same result either way.
 */
export function decodeFrame(data: unknown): Frame | null {
  if (typeof data === 'string') return decodeText(data);
  return Buffer.isBuffer(data) ? decodeBytes(data) : null;
}

// readField's results, in module variables so the per-delivery path allocates nothing for them.
let fieldValue = 0;
let fieldEnd = 0;

/**
 * Reads the header field of `buf` starting at byte `i`: ASCII digits, with `fraction` also a
 * '.' and more digits, then ':'. On success sets fieldValue (the number Number() gives for
 * that text) and fieldEnd (the index after the ':') and returns true; returns false for any
 * other shape (no digit, a sign, an exponent, a missing ':', a value past 2^53, more than 22
 * fraction digits), which the caller leaves to the text parser.
 *
 * Why exact: the digits, decimal point removed, form an integer below 2^53, so every step is
 * exact, and one IEEE division by a power of ten (itself exact below 10^22) is correctly
 * rounded: the nearest double to the decimal, which is what Number() returns. Both conditions
 * are checked: the digits' integer against 2^53, the power of ten against 10^22.
 */
function readField(buf: Buffer, i: number, fraction: boolean): boolean {
  const n = buf.length;
  let value = 0;
  let digits = 0;
  let c = -1;
  for (; i < n; i++) {
    c = buf[i];
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
    digits++;
  }
  if (digits === 0) return false;
  let scale = 1;
  if (fraction && c === 46 /* . */) {
    for (i++, c = -1; i < n; i++) {
      c = buf[i];
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      scale *= 10;
    }
    // Past 10^22 the power of ten is itself rounded and the one division no longer exact.
    if (scale === 1 || scale > 1e22) return false;
  }
  if (i >= n || c !== 58 /* : */ || value > Number.MAX_SAFE_INTEGER) return false;
  fieldValue = scale === 1 ? value : value / scale;
  fieldEnd = i + 1;
  return true;
}

/**
 * A Buffer frame without a string: at 45,000 deliveries a second the latin1 copy, five slices
 * and five Number() calls of decodeText were the generator's largest parse cost. Falls back to
 * decodeText for any header readField does not take, so both agree on every input.
 */
function decodeBytes(buf: Buffer): Frame | null {
  if (!readField(buf, 0, false)) return decodeText(buf.toString('latin1'));
  const endpointSlot = fieldValue;
  if (!readField(buf, fieldEnd, false)) return decodeText(buf.toString('latin1'));
  const senderId = fieldValue;
  if (!readField(buf, fieldEnd, false)) return decodeText(buf.toString('latin1'));
  const seq = fieldValue;
  if (!readField(buf, fieldEnd, true)) return decodeText(buf.toString('latin1'));
  const dueAtMs = fieldValue;
  if (!readField(buf, fieldEnd, true)) return decodeText(buf.toString('latin1'));
  return { endpointSlot, senderId, seq, dueAtMs, sentAtMs: fieldValue };
}

function decodeText(text: string): Frame | null {
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
  if (Buffer.isBuffer(data) && data[0] !== 123 /* { */) return decodeBytes(data);
  const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('latin1') : null;
  if (text === null) return null;
  if (text.charCodeAt(0) !== 123 /* { */) return decodeText(text);
  if (text.startsWith(ALERT_PREFIX)) return 'alert';
  if (text.startsWith(ERROR_PREFIX)) return 'error';
  const at = text.lastIndexOf(E2E_FIELD);
  if (at < 0) return null;
  const start = at + E2E_FIELD.length;
  const end = text.indexOf('"', start);
  return end < 0 ? null : decodeText(text.slice(start, end));
}
