/**
 * `pnpm test:performance explain`: the query plans of the API's and relay's reads before and
 * after the index migration, on a scratch database seeded with a realistic spread of rows.
 * SQLite answers EXPLAIN QUERY PLAN, MySQL/MariaDB EXPLAIN; each query is also timed.
 */
import Database from 'better-sqlite3';
import * as mariadb from 'mariadb';
import { providerOf } from '../backend/src/db/database-url';
import { listMigrations, migrate } from '../backend/src/db/migrator';
import { mysqlConnectionOptions } from '../backend/src/db/mysql-url';
import { withScratchDatabase } from './scratch-db';

export interface PlannedQuery {
  name: string;
  /** Which route or code path runs it. */
  usedBy: string;
  sql: string;
  params: unknown[];
}

export interface PlanResult {
  query: PlannedQuery;
  before: { plan: string[]; avgMs: number };
  after: { plan: string[]; avgMs: number };
}

export interface PlansReport {
  provider: 'sqlite' | 'mysql';
  migration: string;
  rows: { devices: number; alerts: number; rules: number };
  results: PlanResult[];
  generatedAt: string;
}

const ENDPOINTS = 20;
const DEVICES = 10;
const READINGS = 50;
const ALERTS = 500;
const RULES = 5;

interface Conn {
  exec(sql: string, params?: unknown[]): Promise<void>;
  rows(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  explain(sql: string, params: unknown[]): Promise<string[]>;
  close(): Promise<void>;
}

async function open(url: string): Promise<Conn> {
  if (providerOf(url) === 'sqlite') {
    const db = new Database(url.slice(5));
    return {
      exec: async (sql, p = []) => void db.prepare(sql).run(...p),
      rows: async (sql, p = []) => db.prepare(sql).all(...p) as Record<string, unknown>[],
      explain: async (sql, p) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...p) as { detail: string }[]).map((r) => r.detail),
      close: async () => void db.close(),
    };
  }
  const c = await mariadb.createConnection(mysqlConnectionOptions(url));
  return {
    exec: async (sql, p = []) => void (await c.query(sql, p)),
    rows: async (sql, p = []) => (await c.query(sql, p)) as Record<string, unknown>[],
    explain: async (sql, p) =>
      ((await c.query(`EXPLAIN ${sql}`, p)) as Record<string, unknown>[]).map(
        (r) =>
          `table ${r.table}: type ${r.type}, key ${r.key ?? 'none'}, rows ${r.rows}` +
          (r.Extra ? `, ${r.Extra}` : ''),
      ),
    close: () => c.end(),
  };
}

const stamp = (i: number) =>
  new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().slice(0, 23).replace('T', ' ');

async function seed(c: Conn): Promise<void> {
  for (let e = 0; e < ENDPOINTS; e++) {
    const id = `ep-${e}`;
    await c.exec('INSERT INTO `Endpoint` (`id`, `name`, `tokenHash`) VALUES (?, ?, ?)', [id, id, 'x']);
    for (let r = 0; r < RULES; r++) {
      await c.exec(
        'INSERT INTO `AlertRule` (`endpointId`, `field`, `operator`, `threshold`, `enabled`) VALUES (?, ?, ?, ?, ?)',
        [id, 'temperature', '>', 30 + r, r % 2],
      );
    }
    const readings: unknown[] = [];
    for (let d = 0; d < DEVICES; d++) {
      for (let k = 0; k < READINGS; k++)
        readings.push(id, `dev-${d}`, '{"temperature":21.5}', stamp(k * DEVICES + d));
    }
    const values = Array.from({ length: DEVICES * READINGS }, () => '(?, ?, ?, ?)').join(', ');
    await c.exec(
      `INSERT INTO \`DeviceData\` (\`endpointId\`, \`deviceId\`, \`payload\`, \`createdAt\`) VALUES ${values}`,
      readings,
    );
  }
  const rules = await c.rows('SELECT `id`, `endpointId` FROM `AlertRule`');
  const alerts: unknown[] = [];
  for (let a = 0; a < ALERTS * ENDPOINTS; a++) {
    const rule = rules[a % rules.length];
    alerts.push(rule.id, rule.endpointId, 'dev-1', 31, stamp(a));
  }
  for (let i = 0; i < alerts.length; i += 5 * 1000) {
    const chunk = alerts.slice(i, i + 5 * 1000);
    const values = Array.from({ length: chunk.length / 5 }, () => '(?, ?, ?, ?, ?)').join(', ');
    await c.exec(
      `INSERT INTO \`Alert\` (\`ruleId\`, \`endpointId\`, \`deviceId\`, \`value\`, \`createdAt\`) VALUES ${values}`,
      chunk,
    );
  }
}

export const QUERIES: PlannedQuery[] = [
  {
    name: 'device readings, newest first',
    usedBy: 'GET /api/endpoints/:id/devices/:deviceId/data?from&limit',
    sql: 'SELECT `id`, `deviceId`, `payload`, `createdAt` FROM `DeviceData` WHERE `endpointId` = ? AND `deviceId` = ? AND `createdAt` >= ? ORDER BY `createdAt` DESC, `id` DESC LIMIT 100',
    params: ['ep-7', 'dev-3', stamp(100)],
  },
  {
    name: 'alerts of an endpoint, newest first',
    usedBy: 'GET /api/endpoints/:id/alerts',
    sql: 'SELECT * FROM `Alert` WHERE `endpointId` = ? ORDER BY `createdAt` DESC, `id` DESC LIMIT 100',
    params: ['ep-7'],
  },
  {
    name: 'enabled rules of an endpoint',
    usedBy: 'alert evaluation of a device frame (cached in batched mode)',
    sql: 'SELECT * FROM `AlertRule` WHERE `endpointId` = ? AND `enabled` = ?',
    params: ['ep-7', 1],
  },
  {
    name: 'alerts of a rule',
    usedBy: 'DELETE /api/endpoints/:id/alert-rules/:ruleId (cascade to its alerts)',
    sql: 'SELECT `id` FROM `Alert` WHERE `ruleId` = ?',
    params: [3],
  },
];

async function measure(c: Conn): Promise<{ plan: string[]; avgMs: number }[]> {
  const out = [];
  for (const q of QUERIES) {
    const plan = await c.explain(q.sql, q.params);
    await c.rows(q.sql, q.params); // warm caches
    const runs = 50;
    const start = performance.now();
    for (let i = 0; i < runs; i++) await c.rows(q.sql, q.params);
    out.push({ plan, avgMs: Math.round(((performance.now() - start) / runs) * 1000) / 1000 });
  }
  return out;
}

/** Runs on a scratch database (see scratch-db.ts) so the shared one is never touched. */
export async function queryPlans(url: string): Promise<PlansReport> {
  const provider = providerOf(url);
  const migrations = listMigrations(provider).map((m) => m.name);
  const indexMigration = migrations.find((m) => m.endsWith('_query_indexes'));
  if (!indexMigration) throw new Error('no *_query_indexes migration found');
  const beforeIndexes = migrations[migrations.indexOf(indexMigration) - 1];

  return withScratchDatabase(url, 'plans', async (scratch) => {
    await migrate(scratch, { upTo: beforeIndexes });
    const c = await open(scratch);
    let before, after;
    try {
      await seed(c);
      await c.exec(provider === 'sqlite' ? 'ANALYZE' : 'ANALYZE TABLE `DeviceData`, `Alert`, `AlertRule`');
      before = await measure(c);
    } finally {
      await c.close();
    }
    await migrate(scratch);
    const c2 = await open(scratch);
    try {
      await c2.exec(provider === 'sqlite' ? 'ANALYZE' : 'ANALYZE TABLE `DeviceData`, `Alert`, `AlertRule`');
      after = await measure(c2);
    } finally {
      await c2.close();
    }
    return {
      provider,
      migration: indexMigration,
      rows: { devices: ENDPOINTS * DEVICES * READINGS, alerts: ALERTS * ENDPOINTS, rules: ENDPOINTS * RULES },
      results: QUERIES.map((query, i) => ({ query, before: before[i], after: after[i] })),
      generatedAt: new Date().toISOString(),
    };
  });
}
