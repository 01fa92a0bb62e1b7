import { decodeFrame, encodeFrame, makePadding } from '../lib/frame';

describe('frame format', () => {
  it('round-trips the stamp, from a string or a Buffer', () => {
    const frame = {
      endpointSlot: 3,
      senderId: 2_000_017,
      seq: 42,
      dueAtMs: 1_760_000_000_120.5,
      sentAtMs: 1_760_000_000_123.456,
    };
    const text = encodeFrame(frame, makePadding(128));
    // 128-byte target: padding is 128 minus a 52-byte header estimate (longer slots and seqs than here).
    expect(text).toBe(`3:2000017:42:1760000000120.500:1760000000123.456:${'x'.repeat(76)}`);
    expect(Math.abs(text.length - 128)).toBeLessThanOrEqual(8);
    expect(decodeFrame(text)).toEqual(frame);
    expect(decodeFrame(Buffer.from(text))).toEqual(frame);
  });

  it('returns null for anything else', () => {
    expect(decodeFrame('hello')).toBeNull();
    expect(decodeFrame('{"a":1}')).toBeNull();
    expect(decodeFrame('a:b:c:d:e:')).toBeNull();
    // the four-field format of earlier versions (no due time) is not ours either
    expect(decodeFrame('3:2000017:42:1760000000123.456:xxxx')).toBeNull();
    expect(decodeFrame(42)).toBeNull();
  });
});
