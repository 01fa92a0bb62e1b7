/**
 * The HTML reports QA reads, rendered by a real browser from real runs: one short `--mode both`
 * run (report.html of each pass, comparison.html) and one tiny capacity search (capacity.html),
 * opened offline via file:// in headless Chromium. Every chart must be drawn with data, the
 * per-second charts must have one point per second of the scenario, and the page must log no
 * errors and request nothing from the network. Fails, never skips, without /usr/bin/chromium.
 * Takes about two minutes (the runs; the browser part is seconds).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { loadRun } from '../report/load';
import type { ChartSpec } from '../report/views/run-report-charts';
import { launchChromium, openReport, type OpenedPage } from './helpers/report-browser';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = mkdtempSync(path.join(tmpdir(), 'relay-report-browser-'));
// From source, so the test does not depend on a dist/ built by someone else.
const FROM_SOURCE = ['--relay-entry', 'backend/src/main.ts', '--no-build'];

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runner/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** What the report's chart script recorded (templates/partials/report-charts-script.hbs). */
interface DrawnChart {
  id: string;
  title: string;
  x: number;
  points: number[];
}

/** Every [data-chart] element: its spec, whether uPlot drew a canvas in it, its data-points. */
async function chartsOf(opened: OpenedPage) {
  return opened.page.$$eval('[data-chart]', (els) =>
    els.map((el) => ({
      spec: JSON.parse(el.getAttribute('data-chart') ?? 'null') as unknown,
      canvas: el.querySelector('canvas') !== null,
      points: el.getAttribute('data-points'),
    })),
  );
}

function expectClean(opened: OpenedPage) {
  expect(opened.pageErrors).toEqual([]);
  expect(opened.consoleErrors).toEqual([]);
  expect(opened.network).toEqual([]);
}

const runDir = path.join(OUT, 'both');
let browser: Browser;

beforeAll(async () => {
  // The browser first: a missing /usr/bin/chromium fails the file before minutes of runs.
  browser = await launchChromium();
  const run = await runCli([
    '--out',
    OUT,
    '--run-id',
    'both',
    '--profile',
    'smoke',
    '--only',
    'single-endpoint-10',
    '--mode',
    'both',
    ...FROM_SOURCE,
  ]);
  if (run.code !== 0 && run.code !== 3) throw new Error(`the run failed (${run.code}):\n${run.output}`);
}, 300_000);

afterAll(async () => {
  await browser?.close();
});

describe.each(['immediate', 'batched'])('report.html of the %s pass', (mode) => {
  const passDir = path.join(runDir, mode);

  it('draws every chart with data, one point per generator second, offline and without errors', async () => {
    const opened = await openReport(browser, path.join(passDir, 'report.html'));
    try {
      const charts = await chartsOf(opened);
      const drawn = (await opened.page.evaluate(
        () => (globalThis as unknown as { reportCharts: unknown }).reportCharts,
      )) as DrawnChart[];
      const [scenario] = loadRun(passDir).scenarios;
      const id = (name: string) => `both-${mode}-${scenario.name}-${name}`;
      // Each chart the view makes for a scenario with complete data.
      expect(drawn.map((c) => c.id)).toEqual(
        [
          'throughput',
          'connections',
          'generator-lag',
          'percentiles',
          'resources',
          'rss',
          'latency-buckets',
        ].map(id),
      );
      expect(charts).toHaveLength(drawn.length);
      for (const c of charts) {
        expect({ id: (c.spec as ChartSpec).id, canvas: c.canvas }).toEqual({
          id: (c.spec as ChartSpec).id,
          canvas: true,
        });
        expect(Number(c.points)).toBeGreaterThan(0);
      }

      // Per second: consecutive seconds covering the ramp and the send window, and no more
      // seconds than the scenario lasted.
      const throughput = charts.map((c) => c.spec as ChartSpec).find((c) => c.id === id('throughput'))!;
      const steps = throughput.x.slice(1).map((t, i) => t - throughput.x[i]);
      expect(new Set(steps)).toEqual(new Set([1]));
      expect(throughput.x.length).toBeGreaterThanOrEqual(
        scenario.plan.rampSeconds + scenario.plan.sendSeconds - 1,
      );
      expect(throughput.x.length).toBeLessThanOrEqual(Math.ceil(scenario.durationSec));
      // The per-second sent counts add up to what the generator counted in total.
      const total = (label: string) =>
        throughput.lines.find((l) => l.label === label)!.values.reduce<number>((a, v) => a + (v ?? 0), 0);
      expect(total('sent')).toBe(scenario.frames.sent);
      expect(total('delivered')).toBe(scenario.frames.delivered);

      // The percentile curve: min..max, non-decreasing, ending at the scenario's max.
      const curve = charts.map((c) => c.spec as ChartSpec).find((c) => c.id === id('percentiles'))!;
      expect(curve.xTicks).toEqual(['min', 'p50', 'p75', 'p90', 'p95', 'p99', 'p99.9', 'p99.99', 'max']);
      const ms = curve.lines[0].values as number[];
      expect(ms.every((v, i) => i === 0 || v >= ms[i - 1])).toBe(true);
      expect(ms[ms.length - 1]).toBe(scenario.latency!.max);
      expectClean(opened);
      await opened.page.screenshot({ path: path.join(passDir, 'report.png'), fullPage: true });
    } finally {
      await opened.page.close();
    }
  });
});

describe('comparison.html of the --mode both run', () => {
  it('shows both passes side by side with overlaid charts, then both reports', async () => {
    const opened = await openReport(browser, path.join(runDir, 'comparison.html'));
    try {
      const rows = await opened.page.$$eval('table', (tables) =>
        [...tables[0].querySelectorAll('tr')]
          .slice(1)
          .map((tr) => [...tr.children].slice(0, 2).map((td) => td.textContent)),
      );
      expect(rows).toEqual([
        ['single-endpoint-10', 'immediate'],
        ['single-endpoint-10', 'batched'],
      ]);
      const charts = await chartsOf(opened);
      const overlaid = charts.filter((c) => (c.spec as ChartSpec).id.startsWith('cmp-'));
      expect(overlaid.map((c) => (c.spec as ChartSpec).id)).toEqual([
        'cmp-both-single-endpoint-10-delivered',
        'cmp-both-single-endpoint-10-percentiles',
      ]);
      for (const c of overlaid)
        expect((c.spec as ChartSpec).lines.map((l) => l.label)).toEqual(['immediate', 'batched']);
      // The two pass reports follow, each with its own charts.
      expect(charts.length).toBe(2 + 2 * 7);
      for (const c of charts) {
        expect(c.canvas).toBe(true);
        expect(Number(c.points)).toBeGreaterThan(0);
      }
      expectClean(opened);
    } finally {
      await opened.page.close();
    }
  });
});

describe('capacity.html of a tiny capacity search', () => {
  it('draws the latency-versus-rate curve from the probes, offline and without errors', async () => {
    const { code, output } = await runCli([
      'capacity',
      '--out',
      OUT,
      '--run-id',
      'capacity',
      '--endpoints',
      '2',
      '--conns',
      '2',
      '--hold',
      '3',
      '--ramp',
      '1',
      '--max-rate',
      '20',
      '--no-reference',
      ...FROM_SOURCE,
    ]);
    // 0: the knee was found; 3: the generator fell behind (the page must still draw). 1 is an error.
    if (code !== 0 && code !== 3) throw new Error(`capacity exited ${code}:\n${output}`);
    const opened = await openReport(browser, path.join(OUT, 'capacity', 'capacity.html'));
    try {
      const [chart] = await chartsOf(opened);
      expect(chart.canvas).toBe(true);
      // [rates, project p95, project p99, reference p95, reference p99, SLO]
      const data = chart.spec as (number | null)[][];
      expect(data[0]).toEqual([20]);
      expect(typeof data[1][0]).toBe('number');
      expectClean(opened);
    } finally {
      await opened.page.close();
    }
  }, 180_000);
});
