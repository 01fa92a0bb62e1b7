import type client from 'prom-client';

/**
 * A label-free Prometheus histogram for per-frame paths: `observe` is a short scan of a
 * fixed bound array and three additions into typed arrays (no label hashing, no object
 * lookups, no allocation, unlike prom-client's Histogram.observe); the cumulative buckets are
 * built only when /metrics is scraped. Exposition is the same as prom-client's histogram
 * (`_bucket{le}`, `_sum`, `_count`).
 */
export class PlainHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly bounds: Float64Array;
  /** Non-cumulative: counts[i] for bounds[i-1] < v <= bounds[i]; the last slot is +Inf. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  /**
   * @param buckets upper bounds in the observed unit (seconds here), strictly increasing
   * @param registry where it is exposed; throws when `name` is already registered there
   */
  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registry: client.Registry,
  ) {
    this.bounds = Float64Array.from(buckets);
    this.counts = new Float64Array(buckets.length + 1);
    registry.registerMetric(this as unknown as client.Metric);
  }

  /** Records one value (same unit as the buckets). */
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** prom-client's collection hook; nothing to refresh, values are kept live. */
  collect(): void {}

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** What prom-client's registry renders (same shape as Histogram.get()). */
  get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i];
      values.push({ metricName: `${this.name}_bucket`, labels: { le: this.bounds[i] }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }
}
