import { bearerToken, hashToken, newToken, secretMatches, tokenMatchesHash } from '../src/util/token';

/** Endpoint tokens and API keys: what a comparison answers for every shape of input. */
describe('tokens', () => {
  test('newToken: 24 random bytes as base64url (32 characters), never the same twice', () => {
    const a = newToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(newToken()).not.toBe(a);
  });

  test('tokenMatchesHash: the token whose SHA-256 is stored matches, any other does not', () => {
    const token = newToken();
    expect(tokenMatchesHash(token, hashToken(token))).toBe(true);
    expect(tokenMatchesHash(`${token}x`, hashToken(token))).toBe(false);
    expect(tokenMatchesHash(token.toUpperCase(), hashToken(token))).toBe(token === token.toUpperCase());
  });

  test.each([
    ['empty', ''],
    ['too short', 'abcd'],
    ['too long', `${hashToken('t')}00`],
    ['not hex', 'z'.repeat(64)],
  ])('tokenMatchesHash: a stored hash that is %s answers false, never throws', (_what, stored) => {
    expect(tokenMatchesHash('t', stored)).toBe(false);
  });

  test('secretMatches: equal secrets match, different ones (other length included) do not', () => {
    expect(secretMatches('key-1', 'key-1')).toBe(true);
    expect(secretMatches('key-1', 'key-2')).toBe(false);
    expect(secretMatches('key', 'a much longer key')).toBe(false);
    expect(secretMatches('', '')).toBe(true);
  });

  test.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['bEaReR abc', 'abc'],
    ['Bearer    abc', 'abc'],
    // token68 characters and whatever follows the first one are the token, unchanged.
    ['Bearer a.b-c_d~e+f/g==', 'a.b-c_d~e+f/g=='],
    ['Bearer a b', 'a b'],
  ])(
    'bearerToken: %j carries the token %j (scheme case-insensitive, one or more spaces)',
    (header, token) => {
      expect(bearerToken(header)).toBe(token);
    },
  );

  test.each([
    ['absent', undefined],
    ['empty', ''],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['the scheme and spaces', 'Bearer    '],
    ['no space after the scheme', 'Bearerabc'],
    ['a tab after the scheme', 'Bearer\tabc'],
    ['another scheme', 'Basic abc'],
    ["another scheme of Bearer's length", 'Digest abc'],
    ['the scheme not at the start', 'xBearer abc'],
    ['a bare token', 'abc'],
  ])('bearerToken: %s answers undefined', (_what, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});
