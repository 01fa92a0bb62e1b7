/**
 * Whether the relay's memory settles or keeps growing while traffic flows: what a long
 * (stability, acceptance) run is for. Derived from the once-a-second RSS samples, so it can be
 * recomputed from any saved run.
 */
import type { ScenarioResult } from './results';

export interface MemoryTrend {
  /** Seconds of the send window (first to last second with frames sent). */
  windowSeconds: number;
  /** Mean RSS over the first and the last tenth of the send window. */
  rssFirstMb: number;
  rssLastMb: number;
  rssPeakMb: number;
  /**
   * Least-squares slope of RSS over the second half of the send window, in MB per hour.
   * The first half is left out: heap growth to a steady state (JIT, buffers, pools) is not a leak.
   */
  rssSlopeMbPerHour: number;
}

/** Shorter send windows say nothing about leaks: a minute of samples is mostly warm-up. */
export const MIN_TREND_SECONDS = 300;

function slopePerSecond(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round1 = (x: number) => Math.round(x * 10) / 10;

export function memoryTrend(s: Pick<ScenarioResult, 'resources'>): MemoryTrend | null {
  const r = s.resources;
  const sent = r.sentPerSec ?? [];
  const first = sent.findIndex((x) => (x ?? 0) > 0);
  let last = -1;
  for (let i = sent.length - 1; i >= 0; i--) {
    if ((sent[i] ?? 0) > 0) {
      last = i;
      break;
    }
  }
  if (first < 0 || last <= first) return null;
  const windowSeconds = r.t[last] - r.t[first];
  if (windowSeconds < MIN_TREND_SECONDS) return null;

  const points: [number, number][] = [];
  for (let i = first; i <= last; i++) {
    const rss = r.relayRssMb[i];
    if (rss !== null && rss !== undefined) points.push([r.t[i], rss]);
  }
  if (points.length < 10) return null;
  const t0 = r.t[first];
  const tenth = windowSeconds / 10;
  const inRange = (from: number, to: number) =>
    points.filter(([t]) => t - t0 >= from && t - t0 <= to).map(([, v]) => v);
  const firstTenth = inRange(0, tenth);
  const lastTenth = inRange(windowSeconds - tenth, windowSeconds);
  const secondHalf = points.filter(([t]) => t - t0 >= windowSeconds / 2);
  return {
    windowSeconds,
    rssFirstMb: round1(mean(firstTenth)),
    rssLastMb: round1(mean(lastTenth)),
    rssPeakMb: Math.max(...points.map(([, v]) => v)),
    rssSlopeMbPerHour: round1(
      slopePerSecond(
        secondHalf.map(([t]) => t),
        secondHalf.map(([, v]) => v),
      ) * 3600,
    ),
  };
}
