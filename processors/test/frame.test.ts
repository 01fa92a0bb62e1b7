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

describe('decodeFrame rejects a frame with a missing or malformed header field', () => {
  // Each of these would parse to finite numbers if only the field values were checked:
  // a missing separator makes slice() return '' (Number('') is 0) or a neighbour's digits.
  it.each([
    ['no padding separator', '1:2:3:4:5'],
    ['no sentAt separator', '1:2:3:4'],
    ['no dueAt separator', '1:2:3'],
    ['no seq separator', '1:2'],
    ['empty endpoint slot', ':1:2:3:4:'],
  ])('%s: %s', (_why, text) => {
    expect(decodeFrame(text)).toBeNull();
  });

  it.each([
    ['endpointSlot', 'x:2:3:4:5:pad'],
    ['senderId', '1:x:3:4:5:pad'],
    ['seq', '1:2:x:4:5:pad'],
    ['dueAtMs', '1:2:3:x:5:pad'],
    ['sentAtMs', '1:2:3:4:x:pad'],
    ['sentAtMs (Infinity)', '1:2:3:4:Infinity:pad'],
  ])('non-numeric %s', (_field, text) => {
    expect(decodeFrame(text)).toBeNull();
  });

  it('accepts an empty padding and a slot of 0', () => {
    expect(decodeFrame('0:2:3:4.5:5.25:')).toEqual({
      endpointSlot: 0,
      senderId: 2,
      seq: 3,
      dueAtMs: 4.5,
      sentAtMs: 5.25,
    });
  });
});
