import type { Dialect } from './dialect';

/**
 * Why a write failed. `rejected`: the database refused the data of (some of) the rows, and
 * the same rows will fail again; `unavailable`: anything else (unreachable, locked, timed
 * out, full, read-only, an error we do not recognise), which a later retry may get past.
 */
export type WriteFailure = 'rejected' | 'unavailable';

interface DriverCause {
  originalCode?: string;
  kind?: string;
}

/** Prisma wraps the driver adapter's error as `meta.driverAdapterError.cause` (model and raw queries alike). */
function driverCause(err: unknown): DriverCause | undefined {
  const meta = (err as { meta?: { driverAdapterError?: { cause?: DriverCause } } } | null)?.meta;
  return meta?.driverAdapterError?.cause;
}

/**
 * An error a driver raised outside Prisma (the database writer thread, db/bulk/). `driverCode`
 * is what Prisma's adapters call `originalCode`: SQLite's SQLITE_* code, MySQL's errno.
 */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly driverCode: string | undefined,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

/** Foreign-key refusals by driver code: SQLite's, MySQL's 1452 (no parent row). */
const FOREIGN_KEY_CODES = new Set(['SQLITE_CONSTRAINT_FOREIGNKEY', '1452']);

/** Adapter error kinds that describe the data, whatever the database. */
const DATA_KINDS = new Set([
  'LengthMismatch',
  'UniqueConstraintViolation',
  'NullConstraintViolation',
  'ForeignKeyConstraintViolation',
  'ValueOutOfRange',
  'InvalidInputValue',
  'InconsistentColumnData',
]);

/**
 * Classifies the error of a failed INSERT. An error that never reached the driver is
 * `rejected` when it is the rows' own fault (RangeError: a value too deep to serialise;
 * TypeError: a value JSON cannot encode); unknown errors count as `unavailable`, so a failure
 * we do not understand holds the queue (and shows in /health) instead of dropping data.
 */
export function classifyWriteFailure(dialect: Dialect, err: unknown): WriteFailure {
  const cause = driverCause(err);
  if (cause) {
    if (cause.kind && DATA_KINDS.has(cause.kind)) return 'rejected';
    return cause.originalCode !== undefined && dialect.refusesData(String(cause.originalCode))
      ? 'rejected'
      : 'unavailable';
  }
  if (err instanceof DriverError)
    return err.driverCode !== undefined && dialect.refusesData(err.driverCode) ? 'rejected' : 'unavailable';
  return err instanceof RangeError || err instanceof TypeError ? 'rejected' : 'unavailable';
}

/** A foreign-key violation (the rows' endpoint was deleted), through Prisma's model or raw API or the writer thread. */
export function isForeignKeyViolation(err: unknown): boolean {
  return (
    (err as { code?: string }).code === 'P2003' ||
    driverCause(err)?.kind === 'ForeignKeyConstraintViolation' ||
    (err instanceof DriverError && FOREIGN_KEY_CODES.has(err.driverCode ?? ''))
  );
}
