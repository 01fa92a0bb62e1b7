import { classifyFrame, decodeFrame, encodeFrame, makePadding } from '../lib/frame';

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

describe('decodeFrame reads a Buffer as it reads the same text', () => {
  // A Buffer in the encoder's shape is parsed from its bytes, anything else as text: the two
  // must agree on every input, frames and near-frames alike.
  const agree = (text: string): void => {
    expect(decodeFrame(Buffer.from(text, 'latin1'))).toEqual(decodeFrame(text));
  };

  it('on encoded frames with stamps of every magnitude and fraction', () => {
    // 1764707189517.775: value * (1 / 1000) is one ulp off value / 1000 there, and Number() agrees with the division.
    const stamps = [
      0, 0.001, 4.5, 999.999, 1_760_000_000_123.456, 1_764_706_543_210.123, 1_764_707_189_517.775,
      999_999_999_999.999,
    ];
    for (const dueAtMs of stamps)
      for (const sentAtMs of stamps) {
        const frame = { endpointSlot: 49, senderId: 1_002_000_499, seq: 123_456, dueAtMs, sentAtMs };
        const text = encodeFrame(frame, 'xx');
        expect(decodeFrame(Buffer.from(text, 'latin1'))).toEqual(decodeFrame(text));
        expect(decodeFrame(Buffer.from(text, 'latin1'))).toEqual({
          ...frame,
          dueAtMs: Number(dueAtMs.toFixed(3)),
          sentAtMs: Number(sentAtMs.toFixed(3)),
        });
      }
  });

  it.each([
    ['more fraction digits than the encoder writes', '1:2:3:4.5678:5.1234567:'],
    ['a stamp past 2^53 once its point is removed', '1:2:3:1760000000123.4567:5:'],
    ['22 fraction digits', '1:2:3:0.0000000000000000000001:5:'],
    ['23 fraction digits', '1:2:3:0.00000000000000000000001:5:'],
    ['300 fraction digits', `1:2:3:0.${'0'.repeat(299)}1:5:`],
    ['a fraction in an integer field', '1.5:2:3:4:5:'],
    ['leading zeros', '007:02:0003:0004.500:05.250:pad'],
    ['a trailing point', '1:2:3:4.:5:'],
    ['a leading point', '1:2:3:.5:5:'],
    ['a sign', '1:-2:3:4:5:'],
    ['an exponent', '1:2:3:4e3:5:'],
    ['a space', '1: 2:3:4:5:'],
    ['past 2^53', '1:2:3:9007199254740993:5:'],
    ['past 2^53 with a fraction', '1:2:3:900719925474099.35:5:'],
    ['an empty field', '1::3:4:5:'],
    ['no padding separator', '1:2:3:4:5'],
    ['nothing after the slot', '7'],
    ['an empty frame', ''],
    ['a non-ASCII byte', '1:2:3:4:5\u00e9:'],
  ])('on %s: %s', (_why, text) => {
    agree(text);
  });

  it('on random digit strings in every field, as classifyFrame reads them too', () => {
    // Seeded, so a failure names an input that fails again.
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const digits = (n: number) => Array.from({ length: n }, () => String(rand(10))).join('');
    // Sometimes 0.<many zeros><few digits>: small enough for 2^53, past 10^22 in scale.
    const fraction = () => `.${'0'.repeat(rand(4) === 0 ? rand(30) : 0)}${digits(rand(rand(2) ? 25 : 6))}`;
    const whole = () => (rand(4) === 0 ? '0' : digits(1 + rand(17)));
    const stamp = () => `${whole()}${rand(4) === 0 ? '' : fraction()}`;
    for (let i = 0; i < 3000; i++) {
      const text = `${digits(1 + rand(4))}:${digits(1 + rand(11))}:${digits(1 + rand(8))}:${stamp()}:${stamp()}:pad`;
      const bytes = Buffer.from(text, 'latin1');
      expect([text, decodeFrame(bytes)]).toEqual([text, decodeFrame(text)]);
      expect([text, classifyFrame(bytes)]).toEqual([text, classifyFrame(text)]);
    }
  });
});
