import type { DbProvider } from '../db/database-url';
import { dialectOf } from '../db/dialects';
import type { StatementRunner } from '../db/bulk/statement-runner';
import type { Db } from '../db/prisma';

export const OPERATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Operator = (typeof OPERATORS)[number];

export interface AlertRuleInput {
  deviceId?: string | null;
  field: string;
  operator: Operator;
  threshold: number;
  enabled?: boolean;
}

export interface TriggeredAlert {
  id: number;
  ruleId: number;
  endpointId: string;
  deviceId: string;
  field: string;
  operator: string;
  threshold: number;
  value: number;
  createdAt: Date;
}

const compare: Record<Operator, (value: number, threshold: number) => boolean> = {
  '>': (v, t) => v > t,
  '>=': (v, t) => v >= t,
  '<': (v, t) => v < t,
  '<=': (v, t) => v <= t,
  '==': (v, t) => v === t,
  '!=': (v, t) => v !== t,
};

/** Reads a number at a dotted path such as `sensors.temperature`; anything else is no reading. */
export function readNumber(data: unknown, field: string): number | undefined {
  let node: unknown = data;
  for (const key of field.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'number' && Number.isFinite(node) ? node : undefined;
}

type Rule = Awaited<ReturnType<Db['alertRule']['findMany']>>[number];

/** A fired alert to store. */
export interface AlertRow {
  ruleId: number;
  endpointId: string;
  deviceId: string;
  value: number;
}

/** Stores one alert; resolves with its key and stored time, rejects with the database's error. */
export type StoreAlert = (row: AlertRow) => Promise<{ id: number; createdAt: Date }>;

/** Prisma's `alert.create`: on MySQL a transaction of INSERT and read-back (BEGIN, INSERT, SELECT, COMMIT). */
export const prismaAlertStore =
  (prisma: Db): StoreAlert =>
  (row) =>
    prisma.alert.create({ data: row, select: { id: true, createdAt: true } });

/**
 * One single-row INSERT on the writer thread's connection, its key taken from the driver's
 * answer: no transaction and no read-back, and none of it on the event loop. With Prisma's
 * create on MariaDB (four round trips holding a pool connection, each step waiting its turn on
 * a busy event loop) the IoT scenarios' 50 alerts/s averaged 102-501 ms per alert
 * (docs/performance/README.md, IoT traffic). `runner` must report insert ids (`insertIds`).
 */
export function runnerAlertStore(runner: StatementRunner, provider: DbProvider): StoreAlert {
  if (!runner.insertIds) throw new Error('runnerAlertStore needs a statement runner that reports insert ids');
  const dialect = dialectOf(provider);
  return async ({ ruleId, endpointId, deviceId, value }) => {
    const createdAt = new Date();
    const { insertId } = await runner.run(
      dialect.insertRows({
        table: 'Alert',
        columns: ['ruleId', 'endpointId', 'deviceId', 'value', 'createdAt'],
        values: [ruleId, endpointId, deviceId, value, createdAt],
      }),
    );
    if (insertId === undefined) throw new Error('the database reported no key for the alert');
    return { id: insertId, createdAt };
  };
}

export class AlertService {
  /** endpointId -> its enabled rules and when they were read; empty when caching is off. */
  private readonly cache = new Map<string, { rules: Rule[]; loadedAt: number }>();

  /**
   * `cacheMs` 0 reads the rules on every device frame (legacy); otherwise they are cached that
   * long. `store` writes each fired alert (Prisma's create unless given).
   */
  constructor(
    private readonly prisma: Db,
    private readonly cacheMs = 0,
    private readonly store: StoreAlert = prismaAlertStore(prisma),
  ) {}

  private rulesChanged: (endpointId: string) => void = () => undefined;

  /** Told after this process changed an endpoint's rules (the cluster bus tells the other processes). */
  onRulesChanged(listener: (endpointId: string) => void): void {
    this.rulesChanged = listener;
  }

  /** Drops cached rules of an endpoint whose rules changed or which was deleted. */
  invalidate(endpointId: string): void {
    this.cache.delete(endpointId);
    this.loading.delete(endpointId);
    this.generation++;
  }

  /** Drops every cached rule (the cluster bus was down: changes made meanwhile were not heard). */
  invalidateAll(): void {
    this.cache.clear();
    this.loading.clear();
    this.generation++;
  }

  /** Bumped by every invalidation, so rules read before one are not cached after it. */
  private generation = 0;

  /**
   * endpointId -> the rule read in flight (caching on only). Every reading that misses the cache
   * while it runs waits for that one read: without this, each of the ~1,000 readings a second
   * that arrive while an expired entry is being re-read started its own `AlertRule.findMany`
   * (551-1,419 reads per 3-minute IoT scenario on MariaDB, queued on the pool for up to 944 ms
   * each, delaying the alert inserts behind them).
   */
  private readonly loading = new Map<string, Promise<Rule[]>>();

  private rulesFor(endpointId: string): Promise<Rule[]> {
    if (this.cacheMs <= 0) return this.readRules(endpointId);
    const hit = this.cache.get(endpointId);
    if (hit && Date.now() - hit.loadedAt < this.cacheMs) return Promise.resolve(hit.rules);
    const inFlight = this.loading.get(endpointId);
    if (inFlight) return inFlight;
    const generation = this.generation;
    const load = this.readRules(endpointId).then((rules) => {
      // An invalidation while the read ran (a rule created or deleted) makes its result stale:
      // return it to the readings that asked before the change, but do not cache it.
      if (generation === this.generation) this.cache.set(endpointId, { rules, loadedAt: Date.now() });
      return rules;
    });
    const settle = () => {
      if (this.loading.get(endpointId) === load) this.loading.delete(endpointId);
    };
    load.then(settle, settle);
    this.loading.set(endpointId, load);
    return load;
  }

  private readRules(endpointId: string): Promise<Rule[]> {
    return this.prisma.alertRule.findMany({ where: { endpointId, enabled: true } });
  }

  async createRule(endpointId: string, input: AlertRuleInput) {
    const rule = await this.prisma.alertRule.create({
      data: {
        endpointId,
        deviceId: input.deviceId ?? null,
        field: input.field,
        operator: input.operator,
        threshold: input.threshold,
        enabled: input.enabled ?? true,
      },
    });
    this.invalidate(endpointId);
    this.rulesChanged(endpointId);
    return rule;
  }

  listRules(endpointId: string) {
    return this.prisma.alertRule.findMany({ where: { endpointId }, orderBy: { id: 'asc' } });
  }

  async deleteRule(endpointId: string, ruleId: number): Promise<boolean> {
    const { count } = await this.prisma.alertRule.deleteMany({ where: { id: ruleId, endpointId } });
    this.invalidate(endpointId);
    if (count > 0) this.rulesChanged(endpointId);
    return count > 0;
  }

  listAlerts(endpointId: string, limit: number) {
    return this.prisma.alert.findMany({
      where: { endpointId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  /** How many alerts this device's readings fired (stored alerts of the endpoint for that device id). */
  countAlerts(endpointId: string, deviceId: string): Promise<number> {
    return this.prisma.alert.count({ where: { endpointId, deviceId } });
  }

  /** Checks one device reading against the endpoint's enabled rules and stores each alert it fires. */
  async evaluate(endpointId: string, deviceId: string, data: unknown): Promise<TriggeredAlert[]> {
    const rules = await this.rulesFor(endpointId);
    const fired: TriggeredAlert[] = [];
    for (const rule of rules) {
      if (rule.deviceId !== null && rule.deviceId !== deviceId) continue;
      const value = readNumber(data, rule.field);
      const test = compare[rule.operator as Operator];
      if (value === undefined || !test || !test(value, rule.threshold)) continue;
      const alert = await this.store({ ruleId: rule.id, endpointId, deviceId, value });
      fired.push({
        id: alert.id,
        ruleId: rule.id,
        endpointId,
        deviceId,
        field: rule.field,
        operator: rule.operator,
        threshold: rule.threshold,
        value,
        createdAt: alert.createdAt,
      });
    }
    return fired;
  }
}
