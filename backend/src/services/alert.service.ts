import type { Db } from '../db/client';

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

export class AlertService {
  constructor(private readonly prisma: Db) {}

  createRule(endpointId: string, input: AlertRuleInput) {
    return this.prisma.alertRule.create({
      data: {
        endpointId,
        deviceId: input.deviceId ?? null,
        field: input.field,
        operator: input.operator,
        threshold: input.threshold,
        enabled: input.enabled ?? true,
      },
    });
  }

  listRules(endpointId: string) {
    return this.prisma.alertRule.findMany({ where: { endpointId }, orderBy: { id: 'asc' } });
  }

  async deleteRule(endpointId: string, ruleId: number): Promise<boolean> {
    const { count } = await this.prisma.alertRule.deleteMany({ where: { id: ruleId, endpointId } });
    return count > 0;
  }

  listAlerts(endpointId: string, limit: number) {
    return this.prisma.alert.findMany({
      where: { endpointId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  /** Checks one device reading against the endpoint's enabled rules and stores each alert it fires. */
  async evaluate(endpointId: string, deviceId: string, data: unknown): Promise<TriggeredAlert[]> {
    const rules = await this.prisma.alertRule.findMany({
      where: { endpointId, enabled: true, OR: [{ deviceId: null }, { deviceId }] },
    });
    const fired: TriggeredAlert[] = [];
    for (const rule of rules) {
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
