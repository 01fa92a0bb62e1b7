/**
 * What a DATABASE_URL looks like and which database it names. Kept free of driver imports so
 * config parsing and the performance runner's CLI can use it without loading Prisma.
 */
export type DbProvider = 'sqlite' | 'mysql';

/** `file:<path>` is embedded SQLite; `mysql://` (or `mariadb://`) is MySQL 8 / MariaDB. */
export const DATABASE_URL_PATTERN = /^(file:|mysql:\/\/|mariadb:\/\/)/;

/** True for a URL DATABASE_URL accepts: `file:...`, `mysql://...` or `mariadb://...`. */
export function isDatabaseUrl(url: string): boolean {
  return DATABASE_URL_PATTERN.test(url);
}

/** The provider a DATABASE_URL names; throws an Error for a URL DATABASE_URL_PATTERN rejects. */
export function providerOf(url: string): DbProvider {
  if (url.startsWith('file:')) return 'sqlite';
  if (isDatabaseUrl(url)) return 'mysql';
  throw new Error(`not a database URL (file:... or mysql://...): ${maskUrl(url)}`);
}

/**
 * The URL with any password replaced by `***`, for logs and reports. The user info runs to the
 * last `@` before the host (as URL parsing reads it), so a password holding a raw `@` is masked
 * whole.
 */
export function maskUrl(url: string): string {
  return url.replace(/^([^:/?#]+:\/\/)([^/?#]*)@/, (whole, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? whole : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}
