/**
 * IoT traffic: a share of each connection's scheduled frames go out as JSON device readings
 * (processors/lib/frame.ts encodeReadingFrame) that the relay stores and checks against alert
 * rules; at the end every reading the relay accepted must be stored and every alert expected
 * must have fired, counted exactly.
 *
 * Which frames are readings and which readings fire is a function of the VU's frame number
 * alone, so the expected counts need no coordination between VUs or threads:
 *  - the seq-th frame (1-based) is a reading when floor(seq * share) steps up, so exactly
 *    floor(n * share) of a VU's first n frames are readings, spread evenly;
 *  - the r-th reading of a VU fires when r is a multiple of `alertEvery`: its value is
 *    ALERT_VALUE, above the rule's threshold; the others carry r mod alertEvery, below it.
 *
 * Each generator thread sends as one device per endpoint (DEVICE_PREFIX + thread + slot), so
 * a thread checks its own devices without knowing what other threads sent.
 */
import { threadId } from 'node:worker_threads';
import type { AlertRuleBody, DeviceCounts } from './rest-client';

export interface ReadingSettings {
  /** Share of frames sent as readings, 0..1 (config.variables.deviceDataShare). */
  share: number;
  /** Every alertEvery-th reading of a VU fires the rule (config.variables.alertEvery, 1..1000). */
  alertEvery: number;
  /** How long the end-of-run check waits for the stored counts to reach the expected ones, ms. */
  checkMs: number;
}

/** Readings above this fire; no non-firing value reaches it (they are below alertEvery <= 1000). */
export const ALERT_THRESHOLD = 1_000_000;
export const ALERT_VALUE = ALERT_THRESHOLD + 1;

/**
 * The rules the `before` hook creates on every endpoint: one that fires on every
 * alertEvery-th reading, and one that never fires (so evaluation covers more than one rule).
 */
export const ALERT_RULES: readonly AlertRuleBody[] = [
  { field: 'value', operator: '>', threshold: ALERT_THRESHOLD },
  { field: 'value', operator: '<', threshold: -1 },
];

/** Shares are applied in millionths, so the reading decision is integer arithmetic (0.57 * 100 is 56.99... in floats). */
const SHARE_SCALE = 1_000_000;

/** Reads the reading knobs from config.variables; throws on a bad value. */
export function readReadingSettings(vars: Record<string, unknown>): ReadingSettings {
  const raw = (name: string) => (vars[name] === undefined || vars[name] === '' ? undefined : vars[name]);
  const share = Number(raw('deviceDataShare') ?? 0);
  if (!Number.isFinite(share) || share < 0 || share > 1)
    throw new Error(
      `config.variables.deviceDataShare must be a number from 0 to 1, got ${JSON.stringify(vars.deviceDataShare)}`,
    );
  const alertEvery = Number(raw('alertEvery') ?? 10);
  if (!Number.isInteger(alertEvery) || alertEvery < 1 || alertEvery > 1000)
    throw new Error(
      `config.variables.alertEvery must be an integer from 1 to 1000, got ${JSON.stringify(vars.alertEvery)}`,
    );
  const checkMs = Number(raw('readingsCheckMs') ?? 30_000);
  if (!Number.isFinite(checkMs) || checkMs < 0)
    throw new Error(
      `config.variables.readingsCheckMs must be a number >= 0, got ${JSON.stringify(vars.readingsCheckMs)}`,
    );
  return { share, alertEvery, checkMs };
}

/** Readings among a VU's first `seq` frames: floor(seq * share), exactly. */
export function readingsUpTo(seq: number, share: number): number {
  const scaled = seq * Math.round(share * SHARE_SCALE);
  return (scaled - (scaled % SHARE_SCALE)) / SHARE_SCALE;
}

/** The reading number (1-based) of the VU's seq-th frame, or 0 when that frame is a plain one. */
export function readingNumber(seq: number, share: number): number {
  const r = readingsUpTo(seq, share);
  return r > readingsUpTo(seq - 1, share) ? r : 0;
}

export function fires(reading: number, alertEvery: number): boolean {
  return reading % alertEvery === 0;
}

/** The `value` the r-th reading carries: ALERT_VALUE when it fires, r mod alertEvery (below the threshold) otherwise. */
export function readingValue(reading: number, alertEvery: number): number {
  return fires(reading, alertEvery) ? ALERT_VALUE : reading % alertEvery;
}

/** Alerts the first n readings of one VU fire. */
export function alertsFor(readings: number, alertEvery: number): number {
  return Math.floor(readings / alertEvery);
}

/** JSON-safe and unique per generator thread and endpoint slot. */
export function deviceIdFor(slot: number, thread = threadId): string {
  return `perf-t${thread}-s${slot}`;
}

/** What one thread sent as one device (one endpoint slot). */
export interface DeviceTally {
  endpointId: string;
  deviceId: string;
  sent: number;
  /** error frames the relay answered this device's readings with */
  refused: number;
  /** readings sent with a firing value */
  firing: number;
}

/** The thread's devices, one per endpoint slot it sent readings to. */
export class DeviceTallies {
  private readonly bySlot = new Map<number, DeviceTally>();

  of(slot: number, endpointId: string): DeviceTally {
    let t = this.bySlot.get(slot);
    if (!t)
      this.bySlot.set(
        slot,
        (t = { endpointId, deviceId: deviceIdFor(slot), sent: 0, refused: 0, firing: 0 }),
      );
    return t;
  }

  all(): DeviceTally[] {
    return [...this.bySlot.values()];
  }
}

export interface CheckOutcome {
  /** readings stored / alerts fired, summed over the devices (as last counted) */
  stored: number;
  fired: number;
  /** readings the relay accepted (sent - refused) and alerts expected, summed */
  accepted: number;
  expectedAlerts: number;
  /** one line per device whose counts differ from what it sent */
  mismatches: string[];
}

/**
 * Compares the stored counts with what was sent, device by device: readings stored must equal
 * readings sent minus those the relay refused with an error frame; alerts must equal the
 * firing readings sent (exact when none was refused: an error frame does not say which reading
 * it answers, and the `refused == 0` gate fails the run anyway).
 */
export function compareCounts(
  devices: readonly DeviceTally[],
  counts: readonly DeviceCounts[],
): CheckOutcome {
  const out: CheckOutcome = { stored: 0, fired: 0, accepted: 0, expectedAlerts: 0, mismatches: [] };
  devices.forEach((d, i) => {
    const c = counts[i];
    const accepted = d.sent - d.refused;
    out.stored += c.readings;
    out.fired += c.alerts;
    out.accepted += accepted;
    out.expectedAlerts += d.firing;
    if (c.readings !== accepted || c.alerts !== d.firing)
      out.mismatches.push(
        `${d.deviceId} on ${d.endpointId}: ${c.readings} stored of ${accepted} accepted (${d.sent} sent, ${d.refused} refused), ${c.alerts} alerts of ${d.firing} expected`,
      );
  });
  return out;
}

/**
 * Polls `count` for every device until the counts match what was sent (compareCounts) or
 * `deadlineMs` has passed (a poll still running then is abandoned); the batched writer stores
 * readings up to a flush interval (or a backlog) after they were forwarded. Returns the last
 * comparison and, when the last poll failed, its error. Never rejects.
 */
export async function awaitStored(
  devices: readonly DeviceTally[],
  count: (d: DeviceTally) => Promise<DeviceCounts>,
  deadlineMs: number,
  pollMs = 500,
  countAll: <T, R>(items: readonly T[], fn: (item: T) => Promise<R>) => Promise<R[]> = (items, fn) =>
    Promise.all(items.map(fn)),
): Promise<{ outcome: CheckOutcome | null; error?: string; waitedMs: number }> {
  const started = Date.now();
  let outcome: CheckOutcome | null = null;
  let error: string | undefined;
  for (;;) {
    // A relay too busy to answer must not hold the check past its deadline (nor the runner's).
    let timer: NodeJS.Timeout | undefined;
    const remaining = Math.max(0, deadlineMs - (Date.now() - started));
    const overdue = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`counting took longer than the ${deadlineMs} ms the check may wait`)),
        remaining,
      );
    });
    try {
      outcome = compareCounts(devices, await Promise.race([countAll(devices, count), overdue]));
      error = undefined;
    } catch (err) {
      error = (err as Error).message;
    } finally {
      clearTimeout(timer);
    }
    if ((outcome && outcome.mismatches.length === 0 && !error) || Date.now() - started >= deadlineMs)
      return { outcome, error, waitedMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
