import { endpointSlice, endpointSlices } from '../lib/generator-slice';
import { readSettings } from '../lib/settings';

describe('endpointSlice', () => {
  it.each([
    [50, 1],
    [50, 2],
    [50, 3],
    [50, 7],
    [10, 10],
    [1, 1],
    [101, 4],
  ])(
    '%i endpoints over %i generators: every endpoint owned exactly once, sizes differ by at most one',
    (e, k) => {
      const slices = endpointSlices(e, k);
      const owner = new Array<number>(e).fill(-1);
      for (const s of slices) {
        expect(s.generators).toBe(k);
        expect(s.count).toBeGreaterThan(0);
        for (let slot = s.offset; slot < s.offset + s.count; slot++) {
          expect(owner[slot]).toBe(-1);
          owner[slot] = s.index;
        }
      }
      expect(owner.every((o) => o >= 0)).toBe(true);
      const sizes = slices.map((s) => s.count);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    },
  );

  it('gives the extra endpoints to the first slices, contiguously', () => {
    expect(endpointSlices(50, 3).map((s) => [s.offset, s.count])).toEqual([
      [0, 17],
      [17, 17],
      [34, 16],
    ]);
  });

  it('refuses more generators than endpoints, an index outside the range and non-integers', () => {
    expect(() => endpointSlice(2, 0, 3)).toThrow(/3 generators cannot each own whole endpoints of 2/);
    expect(() => endpointSlice(10, 2, 2)).toThrow(/index must be an integer in \[0, 2\), got 2/);
    expect(() => endpointSlice(10, -1, 2)).toThrow(RangeError);
    expect(() => endpointSlice(10, 0.5, 2)).toThrow(RangeError);
    expect(() => endpointSlice(10, 0, 0)).toThrow(/generators must be a positive integer/);
    expect(() => endpointSlice(0, 0, 1)).toThrow(/endpoints must be a positive integer/);
  });
});

describe('readSettings: the generator slice', () => {
  it('owns every endpoint without slice variables (a hand run of one process)', () => {
    expect(readSettings({ endpoints: 50 }).slice).toEqual({ index: 0, generators: 1, offset: 0, count: 50 });
  });

  it('reads generatorIndex and generatorCount (strings, as --overrides may give them)', () => {
    const s = readSettings({
      endpoints: 50,
      connectionsPerEndpoint: 10,
      generatorIndex: '1',
      generatorCount: '2',
    });
    expect(s.slice).toEqual({ index: 1, generators: 2, offset: 25, count: 25 });
    // The rate plan and the connection count stay the whole scenario's: each connection's share is unchanged.
    expect(s.endpoints).toBe(50);
    expect(s.connectionsPerEndpoint).toBe(10);
  });

  it('rejects a slice that cannot exist with a message naming the variables', () => {
    expect(() => readSettings({ endpoints: 2, generatorCount: 3 })).toThrow(
      /generatorIndex\/generatorCount: 3 generators cannot each own whole endpoints of 2/,
    );
    expect(() => readSettings({ endpoints: 5, generatorIndex: 5, generatorCount: 5 })).toThrow(
      /generatorIndex\/generatorCount/,
    );
    expect(() => readSettings({ endpoints: 5, generatorIndex: -1 })).toThrow(
      /generatorIndex must be an integer >= 0/,
    );
    expect(() => readSettings({ endpoints: 5, generatorCount: 0 })).toThrow(
      /generatorCount must be a positive integer/,
    );
  });
});
