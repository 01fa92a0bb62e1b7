/**
 * Bisection at a resolution finer than its 10 msg/s rounding: the search must stop when
 * the rounded midpoint is no longer strictly between the last pass and the first failure,
 * instead of probing a rate it already has (each probe is a whole Artillery run).
 */
import { searchCapacity, type ProbePoint } from '../capacity/search';

function point(rate: number, pass: boolean): ProbePoint {
  return {
    rate,
    sentPerSec: rate,
    deliveredPerSec: rate,
    p50: 1,
    p95: pass ? 5 : 500,
    p99: pass ? 10 : 900,
    lost: 0,
    valid: true,
    invalidReasons: [],
    pass,
  };
}

describe('capacity bisection with a resolution under 10 msg/s', () => {
  // Starts that are not multiples of 10 make the rounded midpoint land on either end.
  const cases: [number, number][] = [];
  for (const start of [7, 13, 33, 91, 97, 101, 104, 996])
    for (const knee of [start + 1, 2 * start + 5, 3 * start - 1]) cases.push([start, knee]);

  it.each(cases)(
    'start %d, knee %d: terminates, never probes a rate twice, brackets the knee',
    async (start, knee) => {
      const probed: number[] = [];
      const probe = async (rate: number) => {
        if (probed.includes(rate)) throw new Error(`probed ${rate} twice: ${probed.join(', ')}`);
        if (probed.length > 50) throw new Error(`no end to the search: ${probed.join(', ')}`);
        probed.push(rate);
        return point(rate, rate <= knee);
      };
      const r = await searchCapacity(probe, { maxRate: 100 * start, resolution: 1, start });
      expect(r.kneeMsgPerSec).toBeLessThanOrEqual(knee);
      expect(r.firstFailingMsgPerSec).toBeGreaterThan(knee);
      // stopped because the 10 msg/s grid has no point strictly in between
      const gap = r.firstFailingMsgPerSec! - r.kneeMsgPerSec;
      const mid = Math.round((r.kneeMsgPerSec + r.firstFailingMsgPerSec!) / 2 / 10) * 10;
      expect(gap <= 1 || mid <= r.kneeMsgPerSec || mid >= r.firstFailingMsgPerSec!).toBe(true);
      expect(r.curve.map((p) => p.rate)).toEqual([...probed].sort((a, b) => a - b));
    },
  );

  it('stops when the midpoint rounds down onto the last pass (100 passes, 106 fails)', async () => {
    const probed: number[] = [];
    const r = await searchCapacity(
      async (rate) => {
        if (probed.length > 5) throw new Error(`no end to the search: ${probed.join(', ')}`);
        probed.push(rate);
        return point(rate, rate <= 100);
      },
      { maxRate: 106, resolution: 1, start: 100 },
    );
    expect(probed).toEqual([100, 106]);
    expect(r).toMatchObject({ kneeMsgPerSec: 100, firstFailingMsgPerSec: 106, limitedBy: 'relay' });
  });

  it('stops when the midpoint rounds up onto the first failure (95 passes, 100 fails)', async () => {
    const probed: number[] = [];
    const r = await searchCapacity(
      async (rate) => {
        if (probed.length > 5) throw new Error(`no end to the search: ${probed.join(', ')}`);
        probed.push(rate);
        return point(rate, rate <= 95);
      },
      { maxRate: 100, resolution: 1, start: 95 },
    );
    expect(probed).toEqual([95, 100]);
    expect(r).toMatchObject({ kneeMsgPerSec: 95, firstFailingMsgPerSec: 100 });
  });
});
