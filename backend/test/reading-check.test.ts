import { checkReading, RejectedReadingError } from '../src/services/device-data/reading-check';

/*
 * checkReading on its own: each reason a reading is refused before it is queued, where in the
 * value the walk finds it (not only at the first key or the top level), and the exact answer
 * the sender gets. The relay-level suite (device-data-bad-input) covers the same through a socket.
 */

const LONE_HIGH = '\ud83d';
const LONE_LOW = '\ude00';
const PAIR = '\ud83d\ude00';

/** `levels` objects nested in each other: {a: {a: ... leaf}}. */
function nestedObjects(levels: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

/** `levels` arrays nested in each other: [[ ... leaf ]]. */
function nestedArrays(levels: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

const reasonOf = (deviceId: string, payload: unknown, maxDepth = 4) =>
  checkReading(deviceId, payload, maxDepth)?.reason;

describe('checkReading', () => {
  test('accepts plain readings, paired surrogates and null anywhere', () => {
    expect(reasonOf('d1', { t: 21.5, unit: 'C', tags: ['a', PAIR], ok: true, none: null })).toBeUndefined();
    expect(reasonOf(`sensor-${PAIR}`, 1)).toBeUndefined();
    expect(reasonOf('d1', null)).toBeUndefined();
  });

  test('depth: objects and arrays count one level each, up to maxDepth; a scalar or null below it is fine', () => {
    // maxDepth 4: four containers are allowed, a fifth is refused, whatever sits at the bottom.
    for (const leaf of [1, 'x', null, true]) {
      expect(reasonOf('d1', nestedObjects(4, leaf))).toBeUndefined();
      expect(reasonOf('d1', nestedArrays(4, leaf))).toBeUndefined();
    }
    expect(reasonOf('d1', nestedObjects(5, 1))).toBe('too_deep');
    expect(reasonOf('d1', nestedArrays(5, 1))).toBe('too_deep');
    expect(reasonOf('d1', nestedObjects(2, nestedArrays(3, 1)))).toBe('too_deep');
    // An empty container at the fifth level is still a fifth level.
    expect(reasonOf('d1', nestedArrays(4, []))).toBe('too_deep');
    expect(reasonOf('d1', nestedObjects(4, {}))).toBe('too_deep');
  });

  test('a deep value is refused, not walked to the end (no stack overflow)', () => {
    expect(reasonOf('d1', nestedArrays(100_000, 1), 32)).toBe('too_deep');
  });

  test.each([
    ['a lone high surrogate in a string', { t: `x${LONE_HIGH}` }],
    ['a lone low surrogate in a string', { t: `${LONE_LOW}x` }],
    ['reversed pair', { t: LONE_LOW + LONE_HIGH }],
    ['in a key', { [`k${LONE_HIGH}`]: 1 }],
    ['in an array item', [1, 'ok', LONE_LOW]],
    ['a top-level string', LONE_HIGH],
  ])('invalid_unicode: %s', (_what, payload) => {
    expect(reasonOf('d1', payload)).toBe('invalid_unicode');
  });

  test('invalid_unicode in the deviceId, before the payload is looked at', () => {
    expect(reasonOf(`d${LONE_HIGH}`, { t: Infinity })).toBe('invalid_unicode');
  });

  test.each([Infinity, -Infinity, NaN])(
    'non_finite_number: %p at the top, in an object, in an array',
    (n) => {
      expect(reasonOf('d1', n)).toBe('non_finite_number');
      expect(reasonOf('d1', { t: 1, v: n })).toBe('non_finite_number');
      expect(reasonOf('d1', [1, [2, n]])).toBe('non_finite_number');
    },
  );

  test('every key and every item is checked, not only the first', () => {
    expect(reasonOf('d1', { a: 1, b: 2, c: { d: 'ok', e: Infinity } })).toBe('non_finite_number');
    expect(reasonOf('d1', { a: 'ok', [`z${LONE_LOW}`]: 1 })).toBe('invalid_unicode');
    expect(reasonOf('d1', ['ok', 'ok', [1, 2, LONE_HIGH]])).toBe('invalid_unicode');
  });

  test('the first problem in document order is the one reported', () => {
    expect(reasonOf('d1', { a: Infinity, b: LONE_HIGH })).toBe('non_finite_number');
    expect(reasonOf('d1', [LONE_HIGH, Infinity])).toBe('invalid_unicode');
  });

  test('the error carries the reason and says what is wrong', () => {
    const messages = {
      too_deep: 'device data not stored: data is nested too deeply',
      invalid_unicode: 'device data not stored: text contains an unpaired UTF-16 surrogate',
      non_finite_number: 'device data not stored: a number is out of range',
    };
    const got = {
      too_deep: checkReading('d1', nestedArrays(5, 1), 4),
      invalid_unicode: checkReading('d1', LONE_HIGH, 4),
      non_finite_number: checkReading('d1', Infinity, 4),
    };
    for (const [reason, err] of Object.entries(got)) {
      expect(err).toBeInstanceOf(RejectedReadingError);
      expect(err!.reason).toBe(reason);
      expect(err!.message).toBe(messages[reason as keyof typeof messages]);
    }
  });
});
