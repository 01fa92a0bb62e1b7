/**
 * The Prometheus text exposition format and histogram arithmetic: what changed between two
 * scrapes, and quantiles estimated the way Prometheus' histogram_quantile does (linear inside
 * the bucket).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (comments skipped). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  const line = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /(\w+)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split('\n')) {
    if (!raw || raw.startsWith('#')) continue;
    const m = line.exec(raw);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(label)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    // Number() also reads NaN, which Prometheus allows (e.g. a gauge with no observations yet).
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

export type Filter = Record<string, string>;

const matches = (s: Sample, name: string, filter: Filter) =>
  s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v);

/** The change of every matching series between two scrapes, summed. */
export function delta(before: Sample[], after: Sample[], name: string, filter: Filter = {}): number {
  const sum = (list: Sample[]) =>
    list.filter((s) => matches(s, name, filter)).reduce((a, s) => a + s.value, 0);
  return sum(after) - sum(before);
}

export function gauge(samples: Sample[], name: string): number | null {
  const s = samples.find((x) => x.name === name);
  return s ? s.value : null;
}

export interface HistogramDelta {
  count: number;
  sumSeconds: number;
  /** upper bound (s) -> cumulative count, for the scenario only */
  buckets: [number, number][];
}

export function histogramDelta(
  before: Sample[],
  after: Sample[],
  name: string,
  filter: Filter = {},
): HistogramDelta {
  const bounds = new Map<number, number>();
  for (const [list, sign] of [
    [after, 1],
    [before, -1],
  ] as const) {
    for (const s of list) {
      if (!matches(s, `${name}_bucket`, filter)) continue;
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      bounds.set(le, (bounds.get(le) ?? 0) + sign * s.value);
    }
  }
  return {
    count: delta(before, after, `${name}_count`, filter),
    sumSeconds: delta(before, after, `${name}_sum`, filter),
    buckets: [...bounds].sort((a, b) => a[0] - b[0]),
  };
}

/** True when rank q*count lies above the highest finite bucket: the quantile is then only known to be at least that bound. */
export function quantileCapped(h: HistogramDelta, q: number): boolean {
  const finite = h.buckets.filter(([b]) => b !== Infinity);
  const top = finite[finite.length - 1];
  return h.count > 0 && top !== undefined && top[1] < q * h.count;
}

/** histogram_quantile: linear interpolation inside the bucket holding rank q*count (the highest finite bound when above it). */
export function quantile(h: HistogramDelta, q: number): number | null {
  if (h.count <= 0) return null;
  const rank = q * h.count;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, cumulative] of h.buckets) {
    if (cumulative >= rank) {
      if (bound === Infinity) return prevBound;
      const inBucket = cumulative - prevCount;
      return inBucket > 0 ? prevBound + (bound - prevBound) * ((rank - prevCount) / inBucket) : bound;
    }
    prevBound = bound;
    prevCount = cumulative;
  }
  return prevBound;
}
