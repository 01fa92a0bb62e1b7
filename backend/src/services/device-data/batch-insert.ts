import type { DbProvider } from '../../db/database-url';
import { dialectOf } from '../../db/dialects';
import type { Db } from '../../db/prisma';
import type { DeviceRow } from './device-data-writer';

const COLUMNS = ['endpointId', 'deviceId', 'payload', 'createdAt'] as const;

/**
 * Inserts `rows` (at least one) with one raw multi-row statement. Prisma's createMany spent
 * 45-70 ms of event-loop time per 500 rows where this spends about 10 (SQLite and MariaDB on
 * the shared test machine), time in which no frame is forwarded; see
 * scripts/device-data-interference.ts. `payload` is serialised here, once per row
 * at flush time, never on the message path. Rejects with the driver's error (see
 * write-failure.ts).
 */
export async function insertDeviceRows(
  prisma: Db,
  provider: DbProvider,
  rows: readonly DeviceRow[],
): Promise<void> {
  const values: unknown[] = [];
  for (const r of rows) values.push(r.endpointId, r.deviceId, JSON.stringify(r.payload), r.createdAt);
  const { sql, params } = dialectOf(provider).insertRows({ table: 'DeviceData', columns: COLUMNS, values });
  await prisma.$executeRawUnsafe(sql, ...params);
}
