import { z } from 'zod';
import { OPERATORS } from '../services/alert.service';

export const createEndpointBody = z.object({ name: z.string().trim().min(1).max(191) });

/** `?limit=` left empty means the default, like an absent one. */
const limit = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z.coerce.number().int().min(1).max(1000).default(100),
);
/** ISO 8601 or epoch milliseconds. */
const instant = z.union([
  z
    .string()
    .regex(/^\d+$/)
    .transform((v) => new Date(Number(v))),
  z.iso.datetime({ offset: true }).transform((v) => new Date(v)),
]);

export const deviceDataQuery = z.object({ from: instant.optional(), to: instant.optional(), limit });

export const alertsQuery = z.object({ limit });

export const createRuleBody = z.object({
  deviceId: z.string().min(1).max(191).nullish(),
  field: z.string().min(1).max(191),
  operator: z.enum(OPERATORS),
  threshold: z.number().finite(),
  enabled: z.boolean().optional(),
});

export const ruleParams = z.object({ ruleId: z.coerce.number().int().positive() });
