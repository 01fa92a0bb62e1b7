import { memoryTrend } from '../memory-trend';
import type { ResourceSeries } from '../results';

/** Per-second samples: `idle` seconds before and after a send window of `window` seconds. */
function series(window: number, rssAt: (t: number) => number, idle = 20): { resources: ResourceSeries } {
  const n = window + 2 * idle;
  const t = Array.from({ length: n }, (_, i) => i);
  return {
    resources: {
      start: 0,
      t,
      relayCpu: t.map(() => 10),
      relayRssMb: t.map((i) => rssAt(i - idle)),
      generatorCpu: t.map(() => 5),
      generatorStallMs: t.map(() => 0),
      sentPerSec: t.map((i) => (i >= idle && i <= idle + window ? 500 : 0)),
    },
  };
}

test('a relay that warms up and then settles has a flat second half', () => {
  // grows 100 -> 180 MB over the first 10 minutes, flat afterwards
  const m = memoryTrend(series(3600, (s) => (s < 600 ? 100 + (80 * Math.max(s, 0)) / 600 : 180)));
  expect(m).not.toBeNull();
  expect(m!.windowSeconds).toBe(3600);
  expect(m!.rssSlopeMbPerHour).toBe(0);
  expect(m!.rssFirstMb).toBeLessThan(m!.rssLastMb);
  expect(m!.rssPeakMb).toBe(180);
});

test('a steady leak shows as its rate per hour', () => {
  // 1 MB per minute, with sawtooth noise from GC
  const m = memoryTrend(series(3600, (s) => 150 + s / 60 + (s % 7 === 0 ? 5 : 0)));
  expect(m!.rssSlopeMbPerHour).toBeGreaterThan(55);
  expect(m!.rssSlopeMbPerHour).toBeLessThan(65);
  expect(m!.rssLastMb - m!.rssFirstMb).toBeGreaterThan(50);
});

test('short send windows and runs without traffic give no trend', () => {
  expect(memoryTrend(series(120, () => 100))).toBeNull();
  const idle = series(600, () => 100);
  idle.resources.sentPerSec = idle.resources.sentPerSec!.map(() => 0);
  expect(memoryTrend(idle)).toBeNull();
});
