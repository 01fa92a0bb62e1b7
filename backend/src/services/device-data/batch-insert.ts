import type { DbProvider } from '../../db/database-url';
import { dialectOf } from '../../db/dialects';
import type { StatementRunner } from '../../db/bulk/statement-runner';
import type { DeviceRow } from './device-data-writer';

/** A queued row with its payload serialised (once, at flush time) and that text's UTF-8 size. */
export interface PreparedRow {
  row: DeviceRow;
  json: string;
  bytes: number;
}

/** Serialises a row's payload; throws what JSON.stringify throws (RangeError for a value too deep). */
export function prepareRow(row: DeviceRow): PreparedRow {
  const json = JSON.stringify(row.payload);
  return { row, json, bytes: Buffer.byteLength(json) };
}

const COLUMNS = ['endpointId', 'deviceId', 'payload', 'createdAt'] as const;

/**
 * Inserts `rows` (at least one) with one raw multi-row statement. Prisma's createMany spent
 * 45-70 ms of event-loop time per 500 rows where this spends about 10 (SQLite and MariaDB on
 * the shared test machine), time in which no frame is forwarded; see
 * scripts/device-data-interference.ts. Payloads come serialised (prepareRow: once
 * per row at flush time, never on the message path). `statements` runs it on a worker thread's
 * own connection by default (db/bulk/), off the event loop. Rejects with the driver's error (see
 * write-failure.ts).
 */
export async function insertDeviceRows(
  statements: StatementRunner,
  provider: DbProvider,
  rows: readonly PreparedRow[],
): Promise<void> {
  const values: unknown[] = [];
  for (const { row: r, json } of rows) values.push(r.endpointId, r.deviceId, json, r.createdAt);
  await statements.run(dialectOf(provider).insertRows({ table: 'DeviceData', columns: COLUMNS, values }));
}
