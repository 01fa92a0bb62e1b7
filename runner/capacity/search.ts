/**
 * The capacity search: the highest aggregate send rate (msg/s) at which a relay keeps its SLO.
 * Coarse steps up until a probe does not pass, then bisection between the last passing and the
 * first non-passing rate. Pure apart from the probe it is given, so the search is unit-tested
 * with a fake probe (runner/test/capacity-search.test.ts).
 */

/** One probe: one short Artillery run at `rate`. */
export interface ProbePoint {
  /** planned aggregate send rate, msg/s */
  rate: number;
  /** what the generator actually sent and what arrived, per second of the send window */
  sentPerSec: number;
  deliveredPerSec: number;
  /** end-to-end latency percentiles, ms; null when nothing was sampled */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  lost: number;
  /** the generator kept up (generator-health.ts); an INVALID probe never passes */
  valid: boolean;
  invalidReasons: string[];
  /** the probe could not run or finish (Artillery error, relay did not start) */
  error?: string;
  /** Artillery processes that generated the probe's load (runner/generator-count.ts); absent in older files: 1 */
  generators?: number;
  /**
   * The machine's steal time over the probe, % of its CPU time (ScenarioResult.machineStealPct):
   * a probe that failed at high steal failed under the host's contention. Null: unknown; absent in
   * files written before 2026-12-02.
   */
  machineStealPct?: number | null;
  /** valid, no error, p95 under the SLO, nothing lost, no duplicates/misroutes, no failed VUs */
  pass: boolean;
}

export type Probe = (rate: number) => Promise<ProbePoint>;

export interface SearchSettings {
  /** never probe above this, msg/s */
  maxRate: number;
  /** stop bisecting when last-pass and first-fail are at most this far apart, msg/s */
  resolution: number;
  /** first coarse step, msg/s (default 1000) */
  start?: number;
}

/** Why the search stopped where it did. */
export type Limit = 'relay' | 'generator' | 'error' | 'max-rate';

export interface SearchResult {
  /** the highest rate that passed; 0 when none did */
  kneeMsgPerSec: number;
  /** the lowest rate that did not pass; null when every probe up to maxRate passed */
  firstFailingMsgPerSec: number | null;
  /**
   * what the first non-passing probe ran into: the relay (SLO, loss), the generator (INVALID:
   * the knee is a lower bound, set by the load generator), an error, or nothing up to maxRate
   */
  limitedBy: Limit;
  /** every probe, by rate */
  curve: ProbePoint[];
}

/** Coarse steps: start, doubling up to 8x start, then +4x start each, capped at (and ending with) maxRate. */
export function coarseRates(maxRate: number, start = 1000): number[] {
  const rates: number[] = [];
  for (let r = start; r < maxRate; r = r < 8 * start ? r * 2 : r + 4 * start) rates.push(r);
  rates.push(maxRate);
  return rates;
}

function limitOf(p: ProbePoint): Limit {
  if (p.error !== undefined) return 'error';
  return p.valid ? 'relay' : 'generator';
}

/**
 * Runs the search with `probe`, one probe at a time. Bisection midpoints are rounded to 10 msg/s.
 * Throws only when the settings are nonsense (maxRate or resolution not positive); a probe that
 * throws ends the search with that error.
 */
export async function searchCapacity(probe: Probe, s: SearchSettings): Promise<SearchResult> {
  if (!(s.maxRate > 0) || !(s.resolution > 0))
    throw new Error(
      `capacity search needs maxRate > 0 and resolution > 0, got ${s.maxRate} and ${s.resolution}`,
    );
  const curve: ProbePoint[] = [];
  const run = async (rate: number) => {
    const p = await probe(rate);
    curve.push(p);
    return p;
  };
  let lo = 0;
  let failing: ProbePoint | undefined;
  for (const rate of coarseRates(s.maxRate, Math.min(s.start ?? 1000, s.maxRate))) {
    const p = await run(rate);
    if (!p.pass) {
      failing = p;
      break;
    }
    lo = rate;
  }
  if (!failing)
    return { kneeMsgPerSec: lo, firstFailingMsgPerSec: null, limitedBy: 'max-rate', curve: byRate(curve) };
  while (failing.rate - lo > s.resolution) {
    const mid = Math.round((lo + failing.rate) / 2 / 10) * 10;
    if (mid <= lo || mid >= failing.rate) break;
    const p = await run(mid);
    if (p.pass) lo = mid;
    else failing = p;
  }
  return {
    kneeMsgPerSec: lo,
    firstFailingMsgPerSec: failing.rate,
    limitedBy: limitOf(failing),
    curve: byRate(curve),
  };
}

function byRate(curve: ProbePoint[]): ProbePoint[] {
  return [...curve].sort((a, b) => a.rate - b.rate);
}
