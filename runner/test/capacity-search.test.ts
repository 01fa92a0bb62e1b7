import { coarseRates, searchCapacity, type ProbePoint } from '../capacity/search';

/** A fake relay: passes up to `knee` msg/s; above `generatorLimit` the generator is INVALID; `errorAt` errors. */
function fakeProbe(o: { knee: number; generatorLimit?: number; errorAt?: number }) {
  const probed: number[] = [];
  const probe = async (rate: number): Promise<ProbePoint> => {
    probed.push(rate);
    const valid = o.generatorLimit === undefined || rate <= o.generatorLimit;
    const error = o.errorAt !== undefined && rate >= o.errorAt ? 'Artillery exited with 1' : undefined;
    const p95 = rate <= o.knee ? 5 : 500;
    return {
      rate,
      sentPerSec: valid ? rate : rate * 0.8,
      deliveredPerSec: rate * 9,
      p50: 1,
      p95,
      p99: p95 * 2,
      lost: 0,
      valid,
      invalidReasons: valid ? [] : ['generator send lag p99 300 ms (> 50 ms)'],
      ...(error ? { error } : {}),
      pass: valid && !error && rate <= o.knee,
    };
  };
  return { probe, probed };
}

describe('coarseRates', () => {
  it('doubles up to 8x the start, then adds 4x the start, ending at the cap', () => {
    expect(coarseRates(30_000)).toEqual([1000, 2000, 4000, 8000, 12000, 16000, 20000, 24000, 28000, 30000]);
    expect(coarseRates(4000)).toEqual([1000, 2000, 4000]);
    expect(coarseRates(500)).toEqual([500]);
    expect(coarseRates(3000, 500)).toEqual([500, 1000, 2000, 3000]);
  });
});

describe('searchCapacity', () => {
  // Knees below the first step, on a coarse step, just beside one, between steps and near the cap.
  it.each([130, 999, 1000, 1001, 4000, 7990, 9870, 12_000, 12_250, 39_900])(
    'finds a knee at %d msg/s within the resolution, only from probes that passed',
    async (knee) => {
      const { probe, probed } = fakeProbe({ knee });
      const r = await searchCapacity(probe, { maxRate: 40_000, resolution: 250 });
      expect(r.limitedBy).toBe('relay');
      expect(r.kneeMsgPerSec).toBeLessThanOrEqual(knee);
      expect(r.firstFailingMsgPerSec).toBeGreaterThan(knee);
      expect(r.firstFailingMsgPerSec! - r.kneeMsgPerSec).toBeLessThanOrEqual(250);
      // The knee is a rate that was probed and passed (or 0 when none did).
      if (r.kneeMsgPerSec > 0) expect(r.curve.find((p) => p.rate === r.kneeMsgPerSec)?.pass).toBe(true);
      // The curve holds every probe exactly once, by rate.
      expect(r.curve.map((p) => p.rate)).toEqual([...probed].sort((a, b) => a - b));
      expect(new Set(probed).size).toBe(probed.length);
      // Coarse steps plus log2(bracket / resolution) bisections, not a linear scan.
      // (the widest bracket after the coarse steps is 4000 msg/s: 4 halvings to 250).
      expect(probed.length).toBeLessThanOrEqual(
        coarseRates(40_000).length + Math.ceil(Math.log2(4000 / 250)),
      );
    },
  );

  it('reports max-rate when every probe up to the cap passed', async () => {
    const { probe, probed } = fakeProbe({ knee: 50_000 });
    const r = await searchCapacity(probe, { maxRate: 4000, resolution: 250 });
    expect(r).toMatchObject({ kneeMsgPerSec: 4000, firstFailingMsgPerSec: null, limitedBy: 'max-rate' });
    expect(probed).toEqual([1000, 2000, 4000]);
  });

  it('treats INVALID probes as not passing and says the generator set the knee', async () => {
    const { probe } = fakeProbe({ knee: 12_000, generatorLimit: 5000 });
    const r = await searchCapacity(probe, { maxRate: 40_000, resolution: 250 });
    expect(r.limitedBy).toBe('generator');
    expect(r.kneeMsgPerSec).toBeLessThanOrEqual(5000);
    expect(5000 - r.kneeMsgPerSec).toBeLessThan(250);
    const invalid = r.curve.filter((p) => !p.valid);
    expect(invalid.length).toBeGreaterThan(0);
    expect(invalid.every((p) => !p.pass && p.rate > 5000 && p.invalidReasons.length > 0)).toBe(true);
  });

  it('says when the search ended on a probe error', async () => {
    const { probe } = fakeProbe({ knee: 12_000, errorAt: 3000 });
    const r = await searchCapacity(probe, { maxRate: 40_000, resolution: 250 });
    expect(r.limitedBy).toBe('error');
    expect(r.kneeMsgPerSec).toBeLessThan(3000);
  });

  it('reports a knee of 0 when not even the lowest bisected rate passes', async () => {
    const { probe } = fakeProbe({ knee: 0 });
    const r = await searchCapacity(probe, { maxRate: 40_000, resolution: 250 });
    expect(r.kneeMsgPerSec).toBe(0);
    expect(r.firstFailingMsgPerSec).toBeLessThanOrEqual(250);
    expect(r.curve.every((p) => !p.pass)).toBe(true);
  });

  it('rejects settings that cannot end', async () => {
    const { probe } = fakeProbe({ knee: 1 });
    await expect(searchCapacity(probe, { maxRate: 1000, resolution: 0 })).rejects.toThrow(/resolution/);
    await expect(searchCapacity(probe, { maxRate: 0, resolution: 10 })).rejects.toThrow(/maxRate/);
  });
});
