import type { PrismaClient as SqliteClient } from '../generated/sqlite/client';

/**
 * Both generated clients come from the same models (prisma/models.prisma), so their model
 * APIs are the same; the SQLite client's type stands for either.
 */
export type Db = SqliteClient;
export type { Prisma } from '../generated/sqlite/client';
