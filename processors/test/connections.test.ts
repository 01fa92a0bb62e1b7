import { readConnectionSettings } from '../connections';
import { CONN_METRIC_NAMES } from '../lib/connection-metrics';
import { ALL_METRIC_NAMES } from '../lib/metric-names';
import { fdLimits, gaugeValue, sourceAddress, sumSeries } from '../lib/source-address';

describe('connection scenario settings', () => {
  it('defaults to hold and reads every knob', () => {
    expect(readConnectionSettings({})).toEqual({
      mode: 'hold',
      sourceAddresses: 0,
      lifeMinMs: 1000,
      lifeMaxMs: 3000,
      stormAtSeconds: 10,
    });
    expect(
      readConnectionSettings({ connectionMode: 'churn', sourceAddresses: '8', lifeMinMs: 5, lifeMaxMs: 5 }),
    ).toMatchObject({ mode: 'churn', sourceAddresses: 8, lifeMinMs: 5, lifeMaxMs: 5 });
  });

  it.each([
    [{ connectionMode: 'flood' }, /connectionMode/],
    [{ lifeMinMs: -1 }, /lifeMinMs/],
    [{ stormAtSeconds: 'soon' }, /stormAtSeconds/],
    [{ lifeMinMs: 3000, lifeMaxMs: 1000 }, /lifeMaxMs must be >= lifeMinMs/],
  ])('refuses %j', (vars, message) => {
    expect(() => readConnectionSettings(vars)).toThrow(message);
  });
});

describe('source addresses', () => {
  it('round-robins over 127.0.0.2 and up, and leaves the choice to the kernel for 0', () => {
    expect([0, 1, 2, 3, 4].map((n) => sourceAddress(n, 4))).toEqual([
      '127.0.0.2',
      '127.0.0.3',
      '127.0.0.4',
      '127.0.0.5',
      '127.0.0.2',
    ]);
    expect(sourceAddress(7, 0)).toBeUndefined();
  });

  it('carries into the next octet instead of producing 127.0.0.256', () => {
    expect(sourceAddress(253, 300)).toBe('127.0.0.255');
    expect(sourceAddress(254, 300)).toBe('127.0.1.0');
    expect(() => sourceAddress(0, 0x1000000)).toThrow(/127\/8/);
  });
});

describe('fd limits and relay metrics', () => {
  it('reads soft and hard open-file limits from /proc/self/limits text', () => {
    const text =
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\n';
    expect(fdLimits(text)).toEqual({ soft: 1024, hard: 20000 });
    expect(fdLimits('Max open files  unlimited  unlimited  files')).toEqual({
      soft: Infinity,
      hard: Infinity,
    });
    expect(fdLimits('nothing here')).toBeNull();
  });

  it("sums a labelled series over the scenario's endpoints only", () => {
    const text = [
      '# HELP relay_connections Open WebSocket connections per endpoint',
      'relay_connections{endpoint="a"} 3',
      'relay_connections{endpoint="b"} 2',
      'relay_connections{endpoint="other"} 7',
      'relay_connections_opened_total 99',
      'nodejs_heap_size_used_bytes 1048576',
    ].join('\n');
    expect(sumSeries(text, 'relay_connections', 'endpoint', new Set(['a', 'b', 'missing']))).toBe(5);
    expect(sumSeries(text, 'relay_connections', 'endpoint', new Set())).toBe(0);
    expect(gaugeValue(text, 'nodejs_heap_size_used_bytes')).toBe(1048576);
    expect(gaugeValue(text, 'relay_connections')).toBeUndefined();
  });
});

describe('connection metric names', () => {
  it('are not substrings of one another or of the e2e names (ensure substitutes by string replace)', () => {
    const all = [...CONN_METRIC_NAMES, ...ALL_METRIC_NAMES];
    const clashes = all.flatMap((a) =>
      all.filter((b) => a !== b && b.includes(a)).map((b) => `${a} in ${b}`),
    );
    expect(clashes).toEqual([]);
    expect(new Set(all).size).toBe(all.length);
  });
});
