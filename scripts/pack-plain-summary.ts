/**
 * The per-rate verdict of scripts/compare-pack-plain.ts: with the machine's speed drifting
 * between runs, one pair (pack run, driver run) can land either side of a bound by chance, so
 * each rate is summed up over its repetitions as well: the median p95 of each tool, their ratio,
 * and how many pairs (same rate and rep) were within the bound.
 */

/** Median of `xs` (the mean of the two middle values when the count is even); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** What the summary reads of one run: a row of compare-pack-plain's --out JSON. */
export interface PairRow {
  rate: number;
  rep: number;
  tool: 'pack' | 'plain';
  /** latency from the intended send time, ms; null when the run produced none */
  intended: { p95: number } | null;
}

export interface RateVerdict {
  rate: number;
  /** medians over the rate's runs that produced a p95, ms (NaN: none did) */
  packP95Median: number;
  plainP95Median: number;
  /** packP95Median / plainP95Median */
  ratioOfMedians: number;
  /** reps where both tools produced a p95 */
  pairs: number;
  /** of those, reps whose pack p95 / driver p95 <= `bound` */
  pairsWithin: number;
}

/**
 * One verdict per rate, in the order rates first appear in `rows`. `bound`: the ratio a pair
 * may reach and still count as within (issue 11: 1.5).
 */
export function verdictsByRate(rows: readonly PairRow[], bound = 1.5): RateVerdict[] {
  const rates = [...new Set(rows.map((r) => r.rate))];
  return rates.map((rate) => {
    const at = rows.filter((r) => r.rate === rate);
    const p95s = (tool: PairRow['tool']) =>
      at.filter((r) => r.tool === tool && r.intended).map((r) => r.intended!.p95);
    let pairs = 0;
    let pairsWithin = 0;
    for (const pack of at.filter((r) => r.tool === 'pack' && r.intended)) {
      const plain = at.find((r) => r.tool === 'plain' && r.rep === pack.rep && r.intended);
      if (!plain) continue;
      pairs++;
      if (pack.intended!.p95 <= bound * plain.intended!.p95) pairsWithin++;
    }
    const packP95Median = median(p95s('pack'));
    const plainP95Median = median(p95s('plain'));
    return {
      rate,
      packP95Median,
      plainP95Median,
      ratioOfMedians: packP95Median / plainP95Median,
      pairs,
      pairsWithin,
    };
  });
}
