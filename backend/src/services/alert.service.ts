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

export class AlertService {
  /** endpointId -> its enabled rules and when they were read; empty when caching is off. */
  private readonly cache = new Map<string, { rules: Rule[]; loadedAt: number }>();

  /** `cacheMs` 0 reads the rules on every device frame (legacy); otherwise they are cached that long. */
  constructor(
    private readonly prisma: Db,
    private readonly cacheMs = 0,
  ) {}

  private rulesChanged: (endpointId: string) => void = () => undefined;

  /** Told after this process changed an endpoint's rules (the cluster bus tells the other processes). */
  onRulesChanged(listener: (endpointId: string) => void): void {
    this.rulesChanged = listener;
  }

  /** Drops cached rules of an endpoint whose rules changed or which was deleted. */
  invalidate(endpointId: string): void {
    this.cache.delete(endpointId);
    this.generation++;
  }

  /** Drops every cached rule (the cluster bus was down: changes made meanwhile were not heard). */
  invalidateAll(): void {
    this.cache.clear();
    this.generation++;
  }

  /** Bumped by every invalidation, so rules read before one are not cached after it. */
  private generation = 0;

  private async rulesFor(endpointId: string): Promise<Rule[]> {
    if (this.cacheMs > 0) {
      const hit = this.cache.get(endpointId);
      if (hit && Date.now() - hit.loadedAt < this.cacheMs) return hit.rules;
    }
    const generation = this.generation;
    const rules = await this.prisma.alertRule.findMany({ where: { endpointId, enabled: true } });
    if (this.cacheMs > 0 && generation === this.generation)
      this.cache.set(endpointId, { rules, loadedAt: Date.now() });
    return rules;
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
      const alert = await this.prisma.alert.create({
        data: { ruleId: rule.id, endpointId, deviceId, value },
      });
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
