/**
 * Which endpoints one generator process owns when a scenario runs on several
 * (`pnpm test:performance --generators K`). Every process owns whole endpoints,
 * so each endpoint's senders and receivers live in one process: its ledger sees
 * every frame it owes (loss accounting stays exact) and its latencies compare
 * stamps taken by one clock. The runner and the processor both slice through
 * this one function, so the arrival count the runner plans matches what the
 * processor creates.
 */

export interface GeneratorSlice {
  /** 0-based index of this generator among `generators` */
  index: number;
  generators: number;
  /** first endpoint slot this generator owns (slots are global: 0 .. endpoints-1) */
  offset: number;
  /** endpoints it owns: contiguous from `offset` */
  count: number;
}

/**
 * The slice of generator `index` of `generators` over `endpoints` endpoints:
 * contiguous, sizes differing by at most one (the first `endpoints % generators`
 * slices get the extra endpoint). Throws RangeError when the arguments are not
 * integers, `index` is outside [0, generators) or a slice would be empty
 * (generators > endpoints).
 */
export function endpointSlice(endpoints: number, index: number, generators: number): GeneratorSlice {
  if (!Number.isInteger(endpoints) || endpoints < 1)
    throw new RangeError(`endpoints must be a positive integer, got ${endpoints}`);
  if (!Number.isInteger(generators) || generators < 1)
    throw new RangeError(`generators must be a positive integer, got ${generators}`);
  if (generators > endpoints)
    throw new RangeError(
      `${generators} generators cannot each own whole endpoints of ${endpoints}: use at most ${endpoints}`,
    );
  if (!Number.isInteger(index) || index < 0 || index >= generators)
    throw new RangeError(`generator index must be an integer in [0, ${generators}), got ${index}`);
  const base = Math.floor(endpoints / generators);
  const extra = endpoints % generators;
  const offset = index * base + Math.min(index, extra);
  return { index, generators, offset, count: base + (index < extra ? 1 : 0) };
}

/** Every generator's slice, in index order; they cover 0 .. endpoints-1 exactly once. */
export function endpointSlices(endpoints: number, generators: number): GeneratorSlice[] {
  return Array.from({ length: generators }, (_x, i) => endpointSlice(endpoints, i, generators));
}
