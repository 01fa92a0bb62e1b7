import { decodeFrame, encodeFrame, makePadding } from '../lib/frame';

describe('frame format', () => {
  it('round-trips the stamp, from a string or a Buffer', () => {
    const frame = { endpointSlot: 3, senderId: 2_000_017, seq: 42, sentAtMs: 1_760_000_000_123.456 };
    const text = encodeFrame(frame, makePadding(128));
    // 128-byte target: padding is 128 minus a 40-byte header estimate.
    expect(text).toBe(`3:2000017:42:1760000000123.456:${'x'.repeat(88)}`);
    expect(decodeFrame(text)).toEqual(frame);
    expect(decodeFrame(Buffer.from(text))).toEqual(frame);
  });

  it('returns null for anything else', () => {
    expect(decodeFrame('hello')).toBeNull();
    expect(decodeFrame('{"a":1}')).toBeNull();
    expect(decodeFrame('a:b:c:d:')).toBeNull();
    expect(decodeFrame(42)).toBeNull();
  });
});
