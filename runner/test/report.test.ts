import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Script } from 'node:vm';
import type { RunFile } from '../report/load';
import { bucketRows } from '../report/ramp';
import { renderHtml, renderMarkdown, viewOf } from '../report/views/run-report';
import { newLatencySet, recordMs, writeLatencyFile } from '../../processors/lib/latency';
import { percentileCurve, type ChartSpec } from '../report/views/run-report-charts';
import { loadRunFixture } from './helpers/run-fixture';

const fixture = loadRunFixture();
const GENERATED = '2026-01-01T12:00:00.000Z';

test("the fixture's verdicts are the runner's: a failed strict gate fails, an informational scenario passes", () => {
  expect(fixture.scenarios.map((s) => [s.name, s.status])).toEqual([
    ['throughput-100', 'failed'],
    ['throughput-ramp', 'passed'],
  ]);
  expect(fixture.scenarios[1].gates.every((g) => !g.strict)).toBe(true);
  expect(fixture.passed).toBe(false);
});

describe('markdown report', () => {
  const md = renderMarkdown(viewOf([fixture], true, GENERATED));

  it('states provenance: command, commit, machine, runtime, database, stats mode', () => {
    expect(md).toContain('# Relay performance baseline (Story 9.1)');
    expect(md).toContain('`pnpm test:performance --profile quick`');
    expect(md).toContain('`0123456789ab`');
    expect(md).toContain('2 x Test CPU, 24 GB');
    expect(md).toContain('v20.20.2 / 2.0.34 (sockets: ws 8.23.0)');
    expect(md).toContain('sqlite, STATS_MODE=immediate');
  });

  it("names the generator's socket library, and leaves it out for a run that did not record it", () => {
    const older = { ...fixture, meta: { ...fixture.meta, generatorSockets: undefined } };
    const text = renderMarkdown(viewOf([older], true, GENERATED));
    expect(text).toContain('| Node / Artillery | v20.20.2 / 2.0.34 |');
    expect(text).not.toContain('sockets:');
    const html = renderHtml(viewOf([fixture], false, GENERATED), [path.join(__dirname, 'fixtures')]);
    expect(html).toContain('<td>v20.20.2 / 2.0.34 (sockets: ws 8.23.0)</td>');
  });

  it('prints the spec metrics per scenario from the JSON, not from the template', () => {
    const row = md.split('\n').find((l) => l.startsWith('| throughput-100 |'));
    expect(row).toBeDefined();
    // conns, target/sent, send ratio, delivered/s, p50, p95, p99, max (from intended send), p95/p99 from actual send, lost, dup+misrouted, relay CPU, RSS, gen CPU, verdict
    expect(row).toMatch(
      /\| 500 \(500\) \| 100 \/ 100 \| 100% \| 900 \| 0\.4 \| 2\.4 \| 4\.2 \| 4\.6 \| 1\.9 \/ 3\.7 \| 0 \(0%\) \| 0 \+ 0 \|/,
    );
    expect(row).toMatch(/\| FAIL \|$/);
    expect(md).toMatch(
      /\| throughput-ramp \| 500 \(500\) \| 2,583 \/ 2,583 \|.*\| 13\.3 \| 68\.7 \| 232 \|.*\| info \|/,
    );
  });

  it('says how latency is measured and lists gates with verdicts and warnings', () => {
    expect(md).toContain('measured for **every** delivery (no sampling)');
    expect(md).toContain('latency **from the intended send time**');
    expect(md).toContain('  - FAIL: `e2e.latency_ms.p95 < 0.001`');
    expect(md).toContain('  - ok: `e2e.frames_lost == 0`');
    expect(md).toContain('- **throughput-ramp**: all 6 gates ok (informational)');
    expect(md).toContain(
      'Every scenario is checked against: `e2e.latency_ms.p95 < 100`, `e2e.latency_ms.p99 < 250`',
    );
    expect(md).toContain('`node dist/backend/src/main.js`');
    expect(md).toContain('- throughput-100: generator event loop stalled up to 250 ms');
  });

  it('has a per-bucket table for the ramp', () => {
    expect(md).toContain('### Throughput ramp: throughput-ramp');
    expect(md).toContain('500 x 20 s, 1000 x 20 s, 2000 x 20 s, 3000 x 20 s, 4000 x 20 s, 5000 x 20 s');
    expect(md).toMatch(/\| 90 \| 4,022 \/ - \| 36,400 \| 1\.8 \| 80\.6 \| 191 \|/);
    expect(md).toContain('**Where it breaks:** p95 stayed under the 100 ms gate');
  });

  it('never prints undefined, NaN or [object Object]', () => {
    expect(md).not.toMatch(/undefined|NaN|\[object Object\]/);
  });

  it('is a plain per-run report when not rendering the baseline', () => {
    const runMd = renderMarkdown(viewOf([fixture], false, GENERATED));
    expect(runMd).toContain('# Relay performance run fixture-run');
  });
});

describe('memory over long send windows', () => {
  it('lists only scenarios whose trend was derived, with RSS, slope and heap figures', () => {
    const run = JSON.parse(JSON.stringify(fixture)) as RunFile;
    const long = run.scenarios[0];
    long.memory = {
      windowSeconds: 3600,
      rssFirstMb: 180.4,
      rssLastMb: 182.1,
      rssPeakMb: 190,
      rssSlopeMbPerHour: 0.8,
    };
    long.relayMetrics = {
      ...(long.relayMetrics ?? ({} as NonNullable<typeof long.relayMetrics>)),
      heapUsedMb: { before: 40.2, after: 41 },
    };
    const md = renderMarkdown(viewOf([run], false, GENERATED));
    expect(md).toContain('#### Memory over long send windows');
    expect(md).toContain(`| ${long.name} | 60 min | 180 / 182 / 190 | 0.8 | 40.2 / 41 |`);
    // the fixture's own scenarios are short: no memory section at all
    expect(renderMarkdown(viewOf([fixture], false, GENERATED))).not.toContain('Memory over long');
  });
});

describe('bucketRows', () => {
  it('lines the 1 s resource samples up with the 10 s latency buckets', () => {
    const ramp = fixture.scenarios.find((s) => s.name === 'throughput-ramp');
    if (!ramp) throw new Error('fixture lacks the ramp');
    const rows = bucketRows(ramp);
    expect(rows).toHaveLength(ramp.series.t.length);
    // Every 10 s bucket of the fixture has resource samples.
    expect(rows.map((r) => r.relayCpu === null)).toEqual(ramp.series.t.map(() => false));
    // The resources start 3 s before the latency series: bucket k holds resource seconds 3+10k .. 12+10k.
    const offset = (ramp.series.start - ramp.resources.start) / 1000;
    expect(offset).toBe(3);
    for (const k of [0, 1]) {
      const inBucket = ramp.resources.relayCpu.filter((cpu, i) => {
        const t = ramp.resources.t[i] - offset;
        return cpu !== null && t >= 10 * k && t < 10 * k + 10;
      }) as number[];
      expect(rows[k].relayCpuPeak).toBe(Math.max(...inBucket));
    }
  });
});

describe('HTML report', () => {
  // The fixture's folder holds no per-scenario files: the charts come from run.json alone.
  const html = renderHtml(viewOf([fixture], false, GENERATED), [path.join(__dirname, 'fixtures')]);

  it('inlines uPlot so it opens offline', () => {
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+stylesheet/);
    expect(html).toContain('uPlot');
    expect(html.length).toBeGreaterThan(40_000);
  });

  it('embeds the chart data of every scenario, escaped for an attribute', () => {
    const blobs = [...html.matchAll(/data-chart="([^"]*)"/g)].map((m) =>
      JSON.parse(
        m[1]
          .replace(/&quot;/g, '"')
          .replace(/&#x27;/g, "'")
          .replace(/&amp;/g, '&')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&#x3D;/g, '=')
          .replace(/&#x60;/g, '`'),
      ),
    );
    const ids = blobs.map((b: { id: string }) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const b of blobs as ChartSpec[]) for (const l of b.lines) expect(l.values).toHaveLength(b.x.length);
    const buckets = blobs.find(
      (b: { id: string }) => b.id === `fixture-run-${fixture.scenarios[1].name}-latency-buckets`,
    );
    expect(buckets.lines.find((l: { label: string }) => l.label === 'p95').values).toEqual(
      fixture.scenarios[1].series.p95,
    );
  });

  it('has inline scripts that at least parse', () => {
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(2);
    for (const code of scripts) expect(() => new Script(code)).not.toThrow();
  });

  it('shows verdicts', () => {
    expect(html).toContain('<td class="FAIL">FAIL</td>');
    expect(html).toContain('<td class="info">info</td>');
    expect(html).toContain('href="#fixture-run-throughput-100"');
    expect(html).toContain('id="fixture-run-throughput-100"');
  });
});

describe('percentileCurve', () => {
  const scenario = fixture.scenarios[0];

  it('reads the exact merged histograms of every generator thread at fixed percentiles', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-curve-'));
    // Two threads: 1..100 ms and 101..200 ms, one value each; merged they are 1..200 ms.
    for (const [name, from] of [
      ['a', 1],
      ['b', 101],
    ] as const) {
      const set = newLatencySet();
      for (let v = from; v < from + 100; v++) recordMs(set.intended, v);
      writeLatencyFile(path.join(dir, `${scenario.name}.latency`), name, set);
    }
    const curve = percentileCurve(dir, scenario);
    expect(curve.map((p) => p.percentile)).toEqual([0, 50, 75, 90, 95, 99, 99.9, 99.99, 100]);
    // HDR keeps 3 significant digits: each point within 0.1 % of the true value.
    const near = (got: number, want: number) => expect(Math.abs(got - want) / want).toBeLessThan(0.001);
    near(curve[0].ms, 1);
    near(curve[1].ms, 100);
    near(curve[2].ms, 150);
    near(curve[3].ms, 180);
    near(curve[8].ms, 200);
    for (let i = 1; i < curve.length; i++) expect(curve[i].ms).toBeGreaterThanOrEqual(curve[i - 1].ms);
  });

  it("falls back to the run's own latency figures without histogram files, and is empty without deliveries", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-curve-'));
    expect(percentileCurve(dir, { ...scenario, latency: null })).toEqual([]);
    const l = { count: 5, min: 1, p50: 2, p95: 3, p99: 4, max: 5, mean: 2 };
    expect(percentileCurve(dir, { ...scenario, latency: l })).toEqual([
      { percentile: 0, ms: 1 },
      { percentile: 50, ms: 2 },
      { percentile: 95, ms: 3 },
      { percentile: 99, ms: 4 },
      { percentile: 100, ms: 5 },
    ]);
  });
});
