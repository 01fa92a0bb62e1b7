/**
 * The name lists the substring checks (metric-names.test.ts, connections.test.ts) iterate:
 * an incomplete list would let those checks pass without looking at a name.
 */
import { CONN_COUNTERS, CONN_HISTOGRAMS, CONN_METRIC_NAMES } from '../lib/connection-metrics';
import { ALL_METRIC_NAMES, COUNTERS, HISTOGRAMS, IOT_COUNTERS } from '../lib/metric-names';

describe('metric name lists', () => {
  it('ALL_METRIC_NAMES holds every e2e and iot counter and histogram, once', () => {
    const names = [...Object.values(COUNTERS), ...Object.values(HISTOGRAMS), ...Object.values(IOT_COUNTERS)];
    expect(names).toHaveLength(21);
    expect([...ALL_METRIC_NAMES].sort()).toEqual([...names].sort());
  });

  it('CONN_METRIC_NAMES holds every connection counter and histogram, once', () => {
    const names = [...Object.values(CONN_COUNTERS), ...Object.values(CONN_HISTOGRAMS)];
    expect(names).toHaveLength(7);
    expect([...CONN_METRIC_NAMES].sort()).toEqual([...names].sort());
  });
});
