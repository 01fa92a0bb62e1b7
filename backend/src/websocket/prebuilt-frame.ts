import WebSocket from 'ws';

/*
 * Frame once per broadcast: a server frame is unmasked, so the same header and payload bytes
 * serve every recipient. ws builds a fresh header (and options objects) inside every
 * `send`; here the frame is built once and handed to each recipient's own Sender through
 * `sendFrame`, the same cork/write path ws.send ends in, so ws's error, close and
 * `bufferedAmount` accounting (socket writableLength + sender queue) stay as they are.
 *
 * `Sender.frame` and `sendFrame` are ws internals (not in @types/ws), checked once at load;
 * with a ws that lacks them, or a recipient whose Sender is busy (queue, fragment or
 * compression in progress), delivery falls back to ws.send with the same bytes.
 */

interface SenderInternals {
  _state: number;
  _queue: unknown[];
  _firstFragment: boolean;
  _extensions: Record<string, unknown>;
  sendFrame(list: Buffer[], cb?: (err?: Error) => void): void;
}

interface SenderStatic {
  frame(
    data: Buffer,
    options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
  ): Buffer[];
  prototype: Partial<SenderInternals>;
}

const Sender = (WebSocket as unknown as { Sender?: SenderStatic }).Sender;
const SUPPORTED = typeof Sender?.frame === 'function' && typeof Sender.prototype.sendFrame === 'function';
/** ws's Sender state when nothing (deflate, blob read) holds the queue. */
const SENDER_IDLE = 0;
const OPCODE_TEXT = 1;
const OPCODE_BINARY = 2;
/**
 * Payloads up to this many bytes are copied once behind their header, so each recipient costs
 * one socket write instead of cork + two writes + uncork; larger ones keep header and payload
 * apart (copying them would cost more than the writev saves).
 */
const MERGE_MAX_BYTES = 16 * 1024;

/** One broadcast's frame: what every recipient gets, built once. */
export interface PrebuiltFrame {
  /** Payload exactly as received (or the UTF-8 bytes of a string). */
  readonly payload: Buffer;
  readonly isBinary: boolean;
  /** Wire bytes (header + payload, FIN set, unmasked); null when ws lacks the internals. */
  readonly wire: Buffer[] | null;
}

/** Builds the wire frame for `data` once; cost: one small header, plus a copy when ≤ 16 KiB. */
export function prebuildFrame(data: Buffer | string, isBinary: boolean): PrebuiltFrame {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  if (!SUPPORTED) return { payload, isBinary, wire: null };
  const list = Sender!.frame(payload, {
    fin: true,
    opcode: isBinary ? OPCODE_BINARY : OPCODE_TEXT,
    mask: false,
    readOnly: false,
    rsv1: false,
  });
  const wire = list.length === 2 && payload.length <= MERGE_MAX_BYTES ? [Buffer.concat(list)] : list;
  return { payload, isBinary, wire };
}

/**
 * Writes a prebuilt frame to one OPEN socket through its Sender. Socket errors surface as
 * ws's own 'error'/'close' events, as for ws.send without a callback.
 */
export function sendPrebuilt(ws: WebSocket, frame: PrebuiltFrame): void {
  const sender = (ws as unknown as { _sender?: SenderInternals })._sender;
  if (
    frame.wire &&
    sender &&
    sender._state === SENDER_IDLE &&
    sender._queue.length === 0 &&
    sender._firstFragment &&
    !sender._extensions['permessage-deflate']
  ) {
    sender.sendFrame(frame.wire);
    return;
  }
  ws.send(frame.payload, { binary: frame.isBinary });
}

/** True when this ws version exposes the internals frame-once relies on. */
export const FRAME_ONCE_SUPPORTED = SUPPORTED;
