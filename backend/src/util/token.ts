import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares fixed-length digests so neither length nor content leaks through timing. */
export function secretMatches(provided: string, expected: string): boolean {
  const a = createHash('sha256').update(provided).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function tokenMatchesHash(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

const BEARER = /^bearer +(\S.*)$/i;

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 section 2.1), or undefined
 * when the header is absent, names another scheme or carries no token. The scheme is matched
 * case-insensitively and may be followed by several spaces (RFC 7235 section 2.1: `auth-scheme
 * 1*SP token68`); Node has already stripped the value's leading and trailing whitespace.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = BEARER.exec(header ?? '');
  return match ? match[1] : undefined;
}
