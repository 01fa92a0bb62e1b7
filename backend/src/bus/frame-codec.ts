/**
 * The bytes of one frame on the bus: a fixed header, then the frame's payload unchanged (no JSON,
 * no base64), so text and binary frames travel byte for byte.
 *
 *   offset 0  u8   version (1)
 *   offset 1  u8   flags: bit 0 = binary frame
 *   offset 2  8 B  origin node id (the publishing process, to skip its own messages)
 *   offset 10 ...  payload
 *
 * The sender socket is not named: only the origin process holds it, and the origin skips its
 * own messages, so receivers deliver to all their sockets.
 */
export const HEADER_BYTES = 10;
const VERSION = 1;
const FLAG_BINARY = 1;

/** Encodes `data` (strings as UTF-8) behind the header. `origin`: 8 bytes. One copy of the payload. */
export function encodeFrame(origin: Buffer, data: Buffer | string, isBinary: boolean): Buffer {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + size);
  out[0] = VERSION;
  out[1] = isBinary ? FLAG_BINARY : 0;
  origin.copy(out, 2);
  if (typeof data === 'string') out.write(data, HEADER_BYTES, 'utf8');
  else data.copy(out, HEADER_BYTES);
  return out;
}

export interface DecodedFrame {
  isBinary: boolean;
  /** A view into the message, not a copy. */
  payload: Buffer;
}

/**
 * Decodes a bus message; undefined for a message of another version or too short, and for one
 * published by `self` (8-byte node id), which was already delivered locally.
 */
export function decodeFrame(message: Buffer, self: Buffer): DecodedFrame | undefined {
  if (message.length < HEADER_BYTES || message[0] !== VERSION) return undefined;
  if (message.compare(self, 0, 8, 2, HEADER_BYTES) === 0) return undefined;
  return { isBinary: (message[1] & FLAG_BINARY) !== 0, payload: message.subarray(HEADER_BYTES) };
}
