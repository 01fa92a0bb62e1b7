import { randomUUID, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createDb, type DbHandle } from '../src/db/client';
import { migrate } from '../src/db/migrator';
import { setLogLevel } from '../src/logger';
import { Prisma as MysqlPrisma } from '../src/generated/mysql/client';
import { Prisma as SqlitePrisma } from '../src/generated/sqlite/client';
import { eachDb, REPO_ROOT, requireDb, scratchDatabase } from './helpers/databases';

/** The migration files as they are on disk, with the checksum Prisma records (sha256 of the file). */
function migrationFiles(provider: 'sqlite' | 'mysql') {
  const dir = path.join(REPO_ROOT, 'prisma', provider, 'migrations');
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => ({
      name,
      checksum: createHash('sha256')
        .update(fs.readFileSync(path.join(dir, name, 'migration.sql')))
        .digest('hex'),
    }));
}

const MODELS = ['Endpoint', 'EndpointStats', 'DeviceData', 'AlertRule', 'Alert'] as const;

eachDb('schema and migrations', (db) => {
  let url: string;
  let handle: DbHandle;
  let firstRun: string[];
  let drop: (() => Promise<void>) | undefined;

  // A database created here (on MySQL a scratch database on the same server), so the first
  // migrate always has every migration to apply, whatever ran against the shared one before.
  beforeAll(async () => {
    requireDb(db);
    setLogLevel('error');
    const scratch = await scratchDatabase(db);
    url = scratch.url;
    drop = scratch.drop;
    firstRun = await migrate(url);
    handle = createDb({ url, poolSize: 2 });
  });
  afterAll(async () => {
    await handle?.prisma.$disconnect();
    await drop?.();
  });

  const newEndpoint = async (name: string) => {
    const id = randomUUID();
    return handle.prisma.endpoint.create({ data: { id, name, tokenHash: 'a'.repeat(64) } });
  };

  it('applies every migration, in order, to a fresh database', () => {
    const files = migrationFiles(db.name).map((m) => m.name);
    expect(files.length).toBeGreaterThan(0);
    expect(firstRun).toEqual(files);
  });

  it('is idempotent: a second run applies nothing', async () => {
    expect(await migrate(url)).toEqual([]);
  });

  it('records each migration in _prisma_migrations in Prisma’s format (sha256 checksum, finished)', async () => {
    const rows = await handle.prisma.$queryRawUnsafe<
      Array<{
        id: string;
        migration_name: string;
        checksum: string;
        finished_at: unknown;
        rolled_back_at: unknown;
        applied_steps_count: unknown;
        started_at: unknown;
      }>
    >(
      'SELECT id, migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, started_at FROM _prisma_migrations',
    );
    for (const file of migrationFiles(db.name)) {
      const mine = rows.filter((r) => r.migration_name === file.name && r.rolled_back_at === null);
      expect([file.name, mine.length]).toEqual([file.name, 1]);
      const [row] = mine;
      expect(row.checksum).toBe(file.checksum);
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).not.toBeNull();
      expect(row.started_at).not.toBeNull();
      expect(Number(row.applied_steps_count)).toBe(1);
    }
  });

  it('has exactly the columns the generated client expects, for every model', async () => {
    const Prisma = db.name === 'sqlite' ? SqlitePrisma : MysqlPrisma;
    const expected: Record<(typeof MODELS)[number], string[]> = {
      Endpoint: Object.values(Prisma.EndpointScalarFieldEnum),
      EndpointStats: Object.values(Prisma.EndpointStatsScalarFieldEnum),
      DeviceData: Object.values(Prisma.DeviceDataScalarFieldEnum),
      AlertRule: Object.values(Prisma.AlertRuleScalarFieldEnum),
      Alert: Object.values(Prisma.AlertScalarFieldEnum),
    };
    for (const model of MODELS) {
      const cols =
        db.name === 'sqlite'
          ? await handle.prisma.$queryRawUnsafe<Array<{ name: string }>>(
              `SELECT name FROM pragma_table_info('${model}')`,
            )
          : await handle.prisma.$queryRawUnsafe<Array<{ name: string }>>(
              'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
              model,
            );
      expect([model, cols.map((c) => c.name).sort()]).toEqual([model, [...expected[model]].sort()]);
    }
  });

  it('Endpoint: create, read, update, delete', async () => {
    const p = handle.prisma;
    const before = Date.now();
    const ep = await newEndpoint('schema-endpoint ✓ ünïcode');
    expect(Math.abs(ep.createdAt.getTime() - before)).toBeLessThan(5000); // no timezone shift
    const read = await p.endpoint.findUnique({ where: { id: ep.id } });
    expect(read).toEqual(ep);
    const updated = await p.endpoint.update({ where: { id: ep.id }, data: { name: 'renamed' } });
    expect(updated.name).toBe('renamed');
    expect((await p.endpoint.findUnique({ where: { id: ep.id } }))?.name).toBe('renamed');
    await p.endpoint.delete({ where: { id: ep.id } });
    expect(await p.endpoint.findUnique({ where: { id: ep.id } })).toBeNull();
  });

  it('EndpointStats: create, increment, read, unique per endpoint, delete', async () => {
    const p = handle.prisma;
    const ep = await newEndpoint('schema-stats');
    const created = await p.endpointStats.create({ data: { endpointId: ep.id } });
    expect(created).toMatchObject({
      currentConnections: 0,
      totalConnections: 0,
      totalMessages: 0,
      lastMessageAt: null,
    });
    const when = new Date('2026-01-02T03:04:05.678Z');
    await p.endpointStats.update({
      where: { endpointId: ep.id },
      data: {
        currentConnections: { increment: 2 },
        totalConnections: { increment: 3 },
        totalMessages: { increment: 7 },
        lastMessageAt: when,
      },
    });
    await p.endpointStats.update({
      where: { endpointId: ep.id },
      data: { currentConnections: { decrement: 1 } },
    });
    const read = await p.endpointStats.findUnique({ where: { endpointId: ep.id } });
    expect(read).toMatchObject({ currentConnections: 1, totalConnections: 3, totalMessages: 7 });
    expect(read?.lastMessageAt?.toISOString()).toBe(when.toISOString()); // exact, millisecond precision, UTC
    await expect(p.endpointStats.create({ data: { endpointId: ep.id } })).rejects.toMatchObject({
      code: 'P2002',
    });
    await p.endpointStats.delete({ where: { endpointId: ep.id } });
    expect(await p.endpointStats.findUnique({ where: { endpointId: ep.id } })).toBeNull();
  });

  it('DeviceData: JSON payload round-trips exactly (nested objects, arrays, unicode, numbers, null)', async () => {
    const p = handle.prisma;
    const ep = await newEndpoint('schema-device');
    const payload = {
      temperature: 21.5,
      negative: -40,
      big: 9007199254740991,
      tiny: 1e-9,
      flag: false,
      nothing: null,
      text: 'quote " backslash \\ newline \n ü 日本 🚀',
      list: [1, 'two', [3, [4]], { five: 5 }, null, true],
      nested: { a: { b: { c: [{ d: 'deep' }] } }, empty: {}, emptyList: [] },
    };
    const created = await p.deviceData.create({ data: { endpointId: ep.id, deviceId: 'dev-json', payload } });
    const read = await p.deviceData.findUnique({ where: { id: created.id } });
    expect(read?.payload).toEqual(payload);
    expect(read?.deviceId).toBe('dev-json');
    const updated = await p.deviceData.update({
      where: { id: created.id },
      data: { payload: { replaced: [1, 2] } },
    });
    expect(updated.payload).toEqual({ replaced: [1, 2] });
    await p.deviceData.delete({ where: { id: created.id } });
    expect(await p.deviceData.findUnique({ where: { id: created.id } })).toBeNull();
  });

  it('AlertRule and Alert: create, read, update, delete, and cascade from their parents', async () => {
    const p = handle.prisma;
    const ep = await newEndpoint('schema-alerts');
    const rule = await p.alertRule.create({
      data: { endpointId: ep.id, field: 'sensors.temp', operator: '>=', threshold: 21.25 },
    });
    expect(rule).toMatchObject({ deviceId: null, enabled: true, threshold: 21.25, operator: '>=' });
    const scoped = await p.alertRule.create({
      data: {
        endpointId: ep.id,
        deviceId: 'dev-9',
        field: 'x',
        operator: '<',
        threshold: -3.5,
        enabled: false,
      },
    });
    expect(await p.alertRule.findUnique({ where: { id: scoped.id } })).toEqual(scoped);
    const toggled = await p.alertRule.update({
      where: { id: scoped.id },
      data: { enabled: true, threshold: 0.1 },
    });
    expect(toggled).toMatchObject({ enabled: true, threshold: 0.1, deviceId: 'dev-9' });

    const alert = await p.alert.create({
      data: { ruleId: rule.id, endpointId: ep.id, deviceId: 'dev-1', value: 22.75 },
    });
    expect(await p.alert.findUnique({ where: { id: alert.id } })).toEqual(alert);
    expect((await p.alert.update({ where: { id: alert.id }, data: { value: -1.5 } })).value).toBe(-1.5);
    const second = await p.alert.create({
      data: { ruleId: scoped.id, endpointId: ep.id, deviceId: 'dev-9', value: 1 },
    });
    await p.alert.delete({ where: { id: alert.id } });
    expect(await p.alert.findUnique({ where: { id: alert.id } })).toBeNull();

    // Deleting a rule removes its alerts; deleting the endpoint removes everything else.
    await p.alertRule.delete({ where: { id: scoped.id } });
    expect(await p.alert.findUnique({ where: { id: second.id } })).toBeNull();
    await p.deviceData.create({ data: { endpointId: ep.id, deviceId: 'd', payload: { v: 1 } } });
    await p.endpointStats.create({ data: { endpointId: ep.id } });
    await p.alert.create({ data: { ruleId: rule.id, endpointId: ep.id, deviceId: 'd', value: 2 } });
    await p.endpoint.delete({ where: { id: ep.id } });
    const where = { endpointId: ep.id };
    expect(
      await Promise.all([
        p.alertRule.count({ where }),
        p.alert.count({ where }),
        p.deviceData.count({ where }),
        p.endpointStats.count({ where }),
      ]),
    ).toEqual([0, 0, 0, 0]);
  });

  it('enforces foreign keys (no orphan rows)', async () => {
    const endpointId = `missing-${randomUUID()}`;
    // P2003: Prisma's foreign-key-constraint error, the same on both databases.
    await expect(
      handle.prisma.deviceData.create({ data: { endpointId, deviceId: 'd', payload: {} } }),
    ).rejects.toMatchObject({ code: 'P2003' });
    expect(await handle.prisma.deviceData.count({ where: { endpointId } })).toBe(0);
  });
});
