import { z } from 'zod';
import { OPERATORS } from '../services/alert.service';

/** VARCHAR(191) counts characters (code points), not UTF-16 units. */
const COLUMN_CHARS = 191;
/** An unpaired surrogate has no UTF-8 form: the driver would store U+FFFD instead. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Text that a VARCHAR(191) utf8mb4 / SQLite TEXT column stores and returns unchanged. */
export const columnText = z
  .string()
  .min(1)
  .refine((s) => !LONE_SURROGATE.test(s), 'contains an unpaired UTF-16 surrogate (not valid Unicode)')
  .refine((s) => [...s].length <= COLUMN_CHARS, `must be at most ${COLUMN_CHARS} characters`);

export const createEndpointBody = z.strictObject({ name: z.string().trim().pipe(columnText) });

/** Digits only: `1e3`, `0x10`, ` 5` and `1.0` are refused rather than guessed at. */
const digits = (max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, 'must be a decimal integer')
    .transform(Number)
    .pipe(z.number().int().max(max));

/** `?limit=` left empty means the default, like an absent one. */
const limit = z.preprocess(
  (v) => (v === '' ? undefined : v),
  digits(1000).pipe(z.number().min(1)).default(100),
);

/**
 * Instants a DATETIME(3) column can hold (MySQL: years 1000–9999; the same bounds on SQLite),
 * given as ISO 8601 with an offset or as epoch milliseconds (then from 1970 on).
 */
const MIN_INSTANT = Date.UTC(1000, 0, 1);
const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const instant = z
  .union([
    digits(MAX_INSTANT).transform((ms) => new Date(ms)),
    z.iso.datetime({ offset: true }).transform((v) => new Date(v)),
  ])
  .refine(
    (d) => d.getTime() >= MIN_INSTANT && d.getTime() <= MAX_INSTANT,
    'must be between years 1000 and 9999',
  );

/** Query strings are strict: a misspelt parameter is a 400, not silently ignored. */
export const noQuery = z.strictObject({});

export const deviceDataQuery = z.strictObject({ from: instant.optional(), to: instant.optional(), limit });

export const alertsQuery = z.strictObject({ limit });

/**
 * Thresholds whose magnitude is below 1e19 are stored and read back bit for bit on both providers.
 * Larger ones lose digits on the way to the database (1.3583485441586396e20 comes back as
 * 1.35834854415864e20) and the largest doubles are out of range for MySQL or read back as
 * Infinity (JSON null) from SQLite: measured, and pinned by backend/test/bad-input.test.ts.
 */
export const THRESHOLD_BOUND = 1e19;

export const createRuleBody = z.strictObject({
  deviceId: columnText.nullish(),
  field: columnText,
  operator: z.enum(OPERATORS),
  threshold: z
    .number()
    .finite()
    .refine(
      (v) => Math.abs(v) < THRESHOLD_BOUND,
      `must be greater than -${THRESHOLD_BOUND} and less than ${THRESHOLD_BOUND} to be stored exactly`,
    ),
  enabled: z.boolean().optional(),
});

/** Alert rule ids are INT columns: 1 to 2^31-1. */
export const ruleParams = z.object({ ruleId: digits(2 ** 31 - 1).pipe(z.number().min(1)) });

/** A device id in a path names no stored row unless the column could have stored it. */
export const deviceParams = z.object({ deviceId: columnText });
