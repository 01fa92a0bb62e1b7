import { providerOf, type DbProvider } from '../database-url';
import type { Dialect } from './dialect';
import { mysql } from './mysql';
import { sqlite } from './sqlite';

export type { Dialect, InsertRows, Statement, SqlConnection, UpdateFromValues } from './dialect';
export { classifyWriteFailure, DriverError, isForeignKeyViolation, type WriteFailure } from './write-failure';

const DIALECTS: Record<DbProvider, Dialect> = { sqlite, mysql };

/** The dialect of a provider. */
export function dialectOf(provider: DbProvider): Dialect {
  return DIALECTS[provider];
}

/** The dialect a DATABASE_URL names; throws an Error for a URL that names neither. */
export function dialectFor(url: string): Dialect {
  return DIALECTS[providerOf(url)];
}
