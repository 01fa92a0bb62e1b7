import { median, verdictsByRate, type PairRow } from '../../scripts/pack-plain-summary';

const run = (rate: number, rep: number, tool: PairRow['tool'], p95: number | null): PairRow => ({
  rate,
  rep,
  tool,
  intended: p95 === null ? null : { p95 },
});

describe('median', () => {
  it('is the middle value of an odd count and the mean of the two middle values of an even one', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 10])).toBe(3.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('verdictsByRate', () => {
  it('pairs runs by rate and rep, counts pairs within the bound inclusively, and takes medians per tool', () => {
    const rows = [
      run(1000, 1, 'pack', 3),
      run(1000, 1, 'plain', 2), // 1.5: within (inclusive)
      run(1000, 2, 'plain', 2),
      run(1000, 2, 'pack', 3.2), // 1.6: not within
      run(1000, 3, 'pack', 1),
      run(1000, 3, 'plain', 4), // 0.25: within
      run(5000, 1, 'pack', 10),
      run(5000, 1, 'plain', 5), // 2: not within
    ];
    expect(verdictsByRate(rows)).toEqual([
      {
        rate: 1000,
        packP95Median: 3,
        plainP95Median: 2,
        ratioOfMedians: 1.5,
        pairs: 3,
        pairsWithin: 2,
      },
      { rate: 5000, packP95Median: 10, plainP95Median: 5, ratioOfMedians: 2, pairs: 1, pairsWithin: 0 },
    ]);
  });

  it('leaves a rep without both figures out of the pairs but keeps the one figure in its tool median', () => {
    const rows = [
      run(8000, 1, 'pack', 20),
      run(8000, 1, 'plain', null),
      run(8000, 2, 'pack', 30),
      run(8000, 2, 'plain', 25),
      run(8000, 3, 'pack', 40), // its driver run is missing altogether
    ];
    expect(verdictsByRate(rows)).toEqual([
      { rate: 8000, packP95Median: 30, plainP95Median: 25, ratioOfMedians: 1.2, pairs: 1, pairsWithin: 1 },
    ]);
  });

  it('takes the bound as given', () => {
    const rows = [run(1, 1, 'pack', 3), run(1, 1, 'plain', 2)];
    expect(verdictsByRate(rows, 1.4)[0].pairsWithin).toBe(0);
    expect(verdictsByRate(rows, 2)[0].pairsWithin).toBe(1);
  });
});
