import fs from 'node:fs';
import path from 'node:path';
import { parsePrometheus, type Sample } from '../../runner/prometheus';
import { REPO_ROOT, tempSqliteUrl } from './helpers/databases';
import { startTestRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually } from './helpers/ws';

/*
 * docs/grafana/relay-dashboard.json against a real relay's /metrics: every metric a panel
 * queries is one the relay exposes, with the type the query needs and the labels it groups by.
 */

const DASHBOARD = path.join(REPO_ROOT, 'docs/grafana/relay-dashboard.json');

interface Target {
  expr: string;
  refId: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; definition?: string }[] };
}

const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');

// ---- A small PromQL reader: enough to find the metric names and grouping labels of a query. ----

/** Words PromQL reserves that look like metric names where they appear. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** Strings, label matchers, ranges, offsets and numbers removed: what is left names series and functions. */
function skeleton(expr: string): string {
  return (
    expr
      .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
      .replace(/\{[^}]*\}/g, ' ')
      .replace(/\[[^\]]*\]/g, ' ')
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
      .replace(/\boffset\s+-?[\w$]+/gi, ' ')
      .replace(/@\s*[\w.()]+/g, ' ')
      // Numbers, including 1e3 and 0x1f, whose letters would read as names.
      .replace(/(^|[^\w:])(0x[0-9a-f]+|\d+(\.\d+)?(e[+-]?\d+)?|\.\d+)/gi, '$1 ')
  );
}

/** Metric names a PromQL expression selects, e.g. `rate(x_bucket{a="b"}[5m])` -> ['x_bucket']. */
function metricNames(expr: string): string[] {
  const s = skeleton(expr);
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const after = s.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** The argument text of every call of `fn` in `expr` (parentheses matched, strings respected). */
function callArgs(expr: string, fn: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`\\b${fn}\\s*\\(`, 'g');
  for (const m of expr.matchAll(re)) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    let quote: string | null = null;
    for (; i < expr.length && depth > 0; i++) {
      const c = expr[i];
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'" || c === '`') quote = c;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    }
    out.push(expr.slice(start, i - 1));
  }
  return out;
}

/** Label names a query groups by or matches on (the scraper's `instance`/`job` excluded). */
function labelNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/gi)) {
    for (const l of m[1].split(',')) if (l.trim()) names.add(l.trim());
  }
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const l of m[1].matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) names.add(l[1]);
  }
  for (const scraper of ['instance', 'job']) names.delete(scraper);
  return [...names];
}

// ---- What /metrics declares. ----

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

interface Exposition {
  types: Map<string, MetricType>;
  samples: Sample[];
}

function exposition(text: string): Exposition {
  const types = new Map<string, MetricType>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1], m[2] as MetricType);
  return { types, samples: parsePrometheus(text) };
}

/**
 * The family a queried name belongs to and its type: the name itself when declared (not for a
 * histogram, whose own name has no series), else a
 * histogram's `_bucket`, or a histogram's or summary's `_sum`/`_count`. null when /metrics has
 * no such series (a suffix on the wrong type, e.g. a counter's `_bucket`, is null too).
 */
function resolve(name: string, e: Exposition): { family: string; type: MetricType } | null {
  const direct = e.types.get(name);
  if (direct === 'histogram') return null;
  if (direct) return { family: name, type: direct };
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m) return null;
  const type = e.types.get(m[1]);
  if (type === 'histogram') return { family: m[1], type };
  if (type === 'summary' && m[2] !== 'bucket') return { family: m[1], type };
  return null;
}

/** Label names seen on any sample of the family (histogram parts included), `le` excepted. */
function familyLabels(family: string, e: Exposition): Set<string> {
  const out = new Set<string>();
  for (const s of e.samples) {
    if (s.name === family || s.name.startsWith(`${family}_`)) {
      for (const l of Object.keys(s.labels)) if (l !== 'le') out.add(l);
    }
  }
  return out;
}

/** Every problem a query has against the exposition; empty when it is sound. */
function problems(expr: string, e: Exposition): string[] {
  const out: string[] = [];
  const names = metricNames(expr);
  if (names.length === 0) out.push('selects no metric');
  for (const name of names) {
    if (!resolve(name, e)) out.push(`${name}: not in /metrics`);
  }
  // rate()/increase() of a gauge is a wrong graph, not an error Grafana shows.
  for (const fn of ['rate', 'irate', 'increase']) {
    for (const arg of callArgs(expr, fn)) {
      for (const name of metricNames(arg)) {
        const r = resolve(name, e);
        if (r && r.type === 'gauge') out.push(`${fn}(${name}): a gauge`);
      }
    }
  }
  for (const arg of callArgs(expr, 'histogram_quantile')) {
    for (const name of metricNames(arg)) {
      if (!name.endsWith('_bucket') || resolve(name, e)?.type !== 'histogram') {
        out.push(`histogram_quantile over ${name}: not a histogram's _bucket`);
      }
    }
    if (!/\ble\b/.test(arg)) out.push('histogram_quantile without grouping by le');
  }
  // A label the query groups by or matches on must be one some selected family carries (when
  // the family has samples: a labelled counter that never moved has none to look at).
  const families = names.map((n) => resolve(n, e)).filter((r) => r !== null);
  const withSamples = families.map((f) => familyLabels(f.family, e)).filter((l) => l.size > 0);
  if (withSamples.length > 0) {
    for (const label of labelNames(expr)) {
      if (label === 'le') continue;
      if (!withSamples.some((l) => l.has(label))) out.push(`label ${label}: on none of ${names.join(', ')}`);
    }
  }
  return out;
}

// ---- Tests ----

describe('the PromQL reader', () => {
  test.each([
    [
      'sum(rate(relay_frames_received_total{instance=~"$instance"}[$__rate_interval]))',
      ['relay_frames_received_total'],
    ],
    [
      'histogram_quantile(0.99, sum by (le) (rate(relay_forward_duration_seconds_bucket{a="b"}[5m])))',
      ['relay_forward_duration_seconds_bucket'],
    ],
    [
      'sum(rate(x_sum[1m])) / sum(rate(x_count[1m])) > 1e3 and on (instance) up offset 5m',
      ['x_sum', 'x_count', 'up'],
    ],
    [
      'max by (instance) (nodejs_eventloop_lag_p99_seconds{instance=~"$instance"}) * 1000',
      ['nodejs_eventloop_lag_p99_seconds'],
    ],
    ['{__name__="a"} + b{c="rate(d)"}', ['b']],
  ])('%s', (expr, names) => {
    expect(metricNames(expr).sort()).toEqual([...names].sort());
  });

  const text = [
    '# TYPE c_total counter',
    'c_total{kind="a"} 1',
    '# TYPE g gauge',
    'g 1',
    '# TYPE h histogram',
    'h_bucket{le="1",kind="a"} 1',
    'h_sum{kind="a"} 1',
    'h_count{kind="a"} 1',
    '',
  ].join('\n');
  const e = exposition(text);

  test('accepts sound queries', () => {
    expect(problems('sum by (kind) (rate(c_total[1m]))', e)).toEqual([]);
    expect(problems('histogram_quantile(0.9, sum by (le, kind) (rate(h_bucket[1m])))', e)).toEqual([]);
    expect(problems('sum(rate(h_sum[1m])) / sum(rate(h_count[1m])) + g', e)).toEqual([]);
  });

  test('finds what a wrong query gets wrong', () => {
    expect(problems('rate(missing_total[1m])', e)).toEqual(['missing_total: not in /metrics']);
    expect(problems('rate(c_total_bucket[1m])', e)).toEqual(['c_total_bucket: not in /metrics']);
    // A histogram's own name selects nothing: only its _bucket, _sum and _count are series.
    expect(problems('h', e)).toEqual(['h: not in /metrics']);
    expect(problems('rate(g[1m])', e)).toEqual(['rate(g): a gauge']);
    expect(problems('histogram_quantile(0.9, sum by (le) (rate(h_sum[1m])))', e)).toEqual([
      "histogram_quantile over h_sum: not a histogram's _bucket",
    ]);
    expect(problems('histogram_quantile(0.9, sum(rate(h_bucket[1m])))', e)).toEqual([
      'histogram_quantile without grouping by le',
    ]);
    expect(problems('sum by (knd) (rate(c_total[1m]))', e)).toEqual(['label knd: on none of c_total']);
  });
});

describe('docs/grafana/relay-dashboard.json', () => {
  test('is a Grafana dashboard: a Prometheus datasource variable, panels with targets on it, a tidy grid', () => {
    expect(dashboard.title).toEqual(expect.any(String));
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.schemaVersion).toEqual(expect.any(Number));
    const vars = dashboard.templating.list;
    expect(vars).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    expect(queryPanels.length).toBeGreaterThanOrEqual(10);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of queryPanels) {
      expect({ panel: p.title, ds: p.datasource }).toEqual({
        panel: p.title,
        ds: { type: 'prometheus', uid: '${datasource}' },
      });
      expect(p.targets?.length).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const t of p.targets!) {
        expect(t.expr).toEqual(expect.any(String));
        expect(t.datasource?.uid).toBe('${datasource}');
      }
      const g = p.gridPos;
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      expect(g.w > 0 && g.h > 0).toBe(true);
    }
    // No two panels overlap.
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const key = `${x},${y}`;
          expect({ panel: p.title, cell: key, taken: cells.has(key) }).toEqual({
            panel: p.title,
            cell: key,
            taken: false,
          });
          cells.add(key);
        }
    }
  });

  test('covers what operators asked for', () => {
    const exprs = queryPanels.flatMap((p) => p.targets!.map((t) => t.expr)).join('\n');
    for (const name of [
      'relay_connections',
      'relay_frames_received_total',
      'relay_deliveries_total',
      'relay_forward_duration_seconds_bucket',
      'relay_db_query_duration_seconds_bucket',
      'relay_flush_duration_seconds_bucket',
      'relay_disconnects_total',
      'relay_http_requests_total',
      'nodejs_eventloop_lag_p99_seconds',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(metricNames(exprs)).toContain(name);
    }
  });

  describe('against a real relay', () => {
    let t: TestRelay;
    let e: Exposition;
    beforeAll(async () => {
      // Batched mode (the default): its queue gauges and flush histograms exist only there.
      t = await startTestRelay(tempSqliteUrl('dashboard'));
      const ep = await t.createEndpoint('dash');
      const a = await connect(t.wsUrl(ep.id, ep.token));
      const b = await connect(t.wsUrl(ep.id, ep.token));
      for (let i = 0; i < 5; i++) await a.send(`frame ${i}`);
      await a.send(JSON.stringify({ type: 'device_data', deviceId: 'd1', data: { t: 21 } }));
      await b.waitForCount(6);
      await t.request('GET', '/no/such/path');
      await closeAll([a, b]);
      // Flushes of both kinds have happened, so their labelled series have samples.
      const text = await eventually(
        () => t.metricsText(),
        (s) =>
          /^relay_flush_duration_seconds_count\{kind="stats",outcome="ok"\} [1-9]/m.test(s) &&
          /^relay_flush_duration_seconds_count\{kind="device_data",outcome="ok"\} [1-9]/m.test(s),
        { what: 'a stats flush and a device-data flush' },
      );
      e = exposition(text);
    });
    afterAll(() => t.stop());

    test.each(queryPanels.flatMap((p) => p.targets!.map((tg) => [`${p.title} / ${tg.refId}`, tg.expr])))(
      '%s queries what /metrics has',
      (_name, expr) => {
        expect(problems(expr, e)).toEqual([]);
      },
    );

    test('the instance variable queries a metric /metrics has', () => {
      const instance = dashboard.templating.list.find((v) => v.name === 'instance');
      const m = /label_values\((\w+),\s*instance\)/.exec(instance?.definition ?? '');
      expect(m).not.toBeNull();
      expect(resolve(m![1], e)).not.toBeNull();
    });
  });
});
