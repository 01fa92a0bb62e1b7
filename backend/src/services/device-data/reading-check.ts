/**
 * Why a reading is refused before it is queued (relay_device_data_rejected_total's `reason`):
 * - `too_deep`: objects/arrays nested deeper than the database's JSON column takes;
 * - `invalid_unicode`: a lone UTF-16 surrogate (`"\udfff"`) in a key, a string or the
 *   deviceId: MariaDB's JSON check refuses it, and a utf8mb4 column would store U+FFFD;
 * - `non_finite_number`: a number JSON cannot hold (`1e400` parses to Infinity, which
 *   would be stored as null).
 * Decided by the batched writer, after queueing (the sender is not told):
 * - `too_large`: the serialised reading alone exceeds the dialect's maxStatementBytes;
 * - `refused`: the database refused the row inside a batch.
 */
export const REJECT_REASONS = [
  'too_deep',
  'invalid_unicode',
  'non_finite_number',
  'too_large',
  'refused',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
type DoorReason = Exclude<RejectReason, 'too_large' | 'refused'>;

/** The reading was not queued: the database would refuse it (or alter it). */
export class RejectedReadingError extends Error {
  constructor(readonly reason: DoorReason) {
    super(`device data not stored: ${MESSAGES[reason]}`);
  }
}

const MESSAGES: Record<DoorReason, string> = {
  too_deep: 'data is nested too deeply',
  invalid_unicode: 'text contains an unpaired UTF-16 surrogate',
  non_finite_number: 'a number is out of range',
};

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Surrogates are rare; a single scan for any keeps the common case to one cheap test.
const ANY_SURROGATE = /[\ud800-\udfff]/;

const wellFormed = (s: string) => !ANY_SURROGATE.test(s) || !LONE_SURROGATE.test(s);

/**
 * What the database would refuse in a reading (a value JSON.parse produced), or undefined
 * when it can be stored as is. One walk over the value, stopping at `maxDepth + 1` levels, so
 * the cost is linear in the reading's size and a deep value cannot overflow the stack.
 */
export function checkReading(
  deviceId: string,
  payload: unknown,
  maxDepth: number,
): RejectedReadingError | undefined {
  if (!wellFormed(deviceId)) return new RejectedReadingError('invalid_unicode');
  const reason = walk(payload, 1, maxDepth);
  return reason ? new RejectedReadingError(reason) : undefined;
}

function walk(value: unknown, depth: number, maxDepth: number): DoorReason | undefined {
  switch (typeof value) {
    case 'string':
      return wellFormed(value) ? undefined : 'invalid_unicode';
    case 'number':
      return Number.isFinite(value) ? undefined : 'non_finite_number';
    case 'object': {
      if (value === null) return undefined;
      if (depth > maxDepth) return 'too_deep';
      if (Array.isArray(value)) {
        for (const item of value) {
          const reason = walk(item, depth + 1, maxDepth);
          if (reason) return reason;
        }
        return undefined;
      }
      for (const key in value) {
        if (!wellFormed(key)) return 'invalid_unicode';
        const reason = walk((value as Record<string, unknown>)[key], depth + 1, maxDepth);
        if (reason) return reason;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
