/**
 * Renders run.json files with Handlebars: report.md + report.html per run, and
 * the committed docs/performance/baseline-report.md from one or more runs
 * (e.g. SQLite and MySQL side by side).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { RunMeta } from './metadata';
import type { ScenarioResult } from './results';

export interface RunFile {
  meta: RunMeta;
  passed: boolean;
  scenarios: ScenarioResult[];
}

const TEMPLATES = path.resolve(__dirname, '..', 'templates');
const UPLOT_DIR = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

function fmt(value: unknown, digits?: unknown): string {
  if (value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value)))
    return '-';
  if (typeof value !== 'number') return String(value);
  const d = typeof digits === 'number' ? digits : Math.abs(value) >= 100 ? 0 : 1;
  return value.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: d });
}

export function createRenderer(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper('fmt', (v: unknown, d: unknown) => fmt(v, d));
  hb.registerHelper('pct', (v: unknown) => (typeof v === 'number' ? `${fmt(v * 100, 1)}%` : '-'));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('verdict', (status: unknown, informational: unknown) =>
    informational ? 'info' : status === 'passed' ? 'PASS' : status === 'failed' ? 'FAIL' : 'ERROR',
  );
  hb.registerHelper('check', (passed: unknown) => (passed ? 'ok' : 'FAIL'));
  // How the runner launched the relay: .ts entries go through tsx (see relay-process.ts).
  hb.registerHelper('relayCommand', (entry: unknown) =>
    typeof entry !== 'string'
      ? 'node (entry not recorded)'
      : entry.endsWith('.ts')
        ? `node --import tsx ${entry}`
        : `node ${entry}`,
  );
  hb.registerHelper(
    'allPassed',
    (gates: unknown) =>
      Array.isArray(gates) && gates.length > 0 && gates.every((g: { passed: boolean }) => g.passed),
  );
  hb.registerHelper('failedNames', (scenarios: ScenarioResult[]) =>
    scenarios
      .filter((s) => !s.informational && s.status !== 'passed')
      .map((s) => `${s.name} (${s.status})`)
      .join(', '),
  );
  hb.registerHelper('passFail', (passed: unknown) => (passed ? 'PASS' : 'FAIL'));
  // A plain string, so Handlebars HTML-escapes it for the attribute it lands in.
  hb.registerHelper('chartData', (s: ScenarioResult) =>
    JSON.stringify({ series: s.series, resources: s.resources }),
  );
  hb.registerHelper('raw', (v: unknown) => new hb.SafeString(String(v ?? '')));
  return hb;
}

/** Per 10 s bucket rows for ramp-style tables, with the relay CPU averaged over the same seconds. */
export function bucketRows(s: ScenarioResult): {
  t: number;
  sentPerSec: number;
  deliveredPerSec: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  relayCpu: number | null;
  relayCpuPeak: number | null;
  generatorCpu: number | null;
  stallMs: number | null;
  /** highest 1 s send rate inside the bucket: the ramp step reached, where a bucket straddles two */
  sentPeakPerSec: number | null;
}[] {
  const r = s.resources;
  const avg = (xs: (number | null)[], from: number, to: number, agg: 'mean' | 'max') => {
    const vals = xs
      .filter((_, i) => {
        const abs = r.start + r.t[i] * 1000;
        return abs >= from && abs < to;
      })
      .filter((x): x is number => x !== null);
    if (vals.length === 0) return null;
    return agg === 'max'
      ? Math.max(...vals)
      : Math.round((vals.reduce((a, b) => a + b, 0) / vals.length) * 10) / 10;
  };
  return s.series.t.map((t, i) => {
    const from = s.series.start + t * 1000;
    const to = from + 10_000;
    return {
      t,
      sentPerSec: s.series.sentPerSec[i],
      deliveredPerSec: s.series.deliveredPerSec[i],
      p50: s.series.p50[i],
      p95: s.series.p95[i],
      p99: s.series.p99[i],
      relayCpu: avg(r.relayCpu, from, to, 'mean'),
      generatorCpu: avg(r.generatorCpu, from, to, 'mean'),
      stallMs: avg(r.generatorStallMs, from, to, 'max'),
      relayCpuPeak: avg(r.relayCpu, from, to, 'max'),
      sentPeakPerSec: avg(r.sentPerSec ?? [], from, to, 'max'),
    };
  });
}

/**
 * The first 10 s bucket of a ramp whose p95 broke the latency gate, and which
 * process was at its limit then. Derived from the same numbers the table shows.
 */
export function breakingPoint(
  s: ScenarioResult,
  p95LimitMs: number,
): {
  rate: number;
  p95: number;
  t: number;
  relayCpuPeak: number | null;
  generatorCpu: number | null;
  limit: string;
} | null {
  const rows = bucketRows(s);
  const hit = rows.find((r) => r.p95 !== null && r.p95 >= p95LimitMs && r.sentPerSec > 0);
  if (!hit) return null;
  const relayBound = hit.relayCpuPeak !== null && hit.relayCpuPeak >= 85;
  const generatorBound = (hit.generatorCpu !== null && hit.generatorCpu >= 90) || (hit.stallMs ?? 0) >= 200;
  const limit = generatorBound
    ? 'the load generator was at its limit, so this is a lower bound for the relay'
    : relayBound
      ? 'the relay process was CPU-bound (Node runs its JavaScript on one core)'
      : 'neither process was CPU-bound; the time went elsewhere (database, I/O)';
  return {
    rate: hit.sentPeakPerSec ?? hit.sentPerSec,
    p95: hit.p95 as number,
    t: hit.t,
    relayCpuPeak: hit.relayCpuPeak,
    generatorCpu: hit.generatorCpu,
    limit,
  };
}

function p95Limit(run: RunFile): number {
  const raw = run.meta.gates?.['e2e.latency_ms.p95'] ?? '< 100';
  const n = Number(raw.replace(/[^\d.]/g, ''));
  return Number.isFinite(n) && n > 0 ? n : 100;
}

export interface ReportView {
  title: string;
  baseline: boolean;
  generatedAt: string;
  runs: (RunFile & {
    scenarios: (ScenarioResult & { anchor: string })[];
    runGates: string[];
    rampScenarios: (ScenarioResult & {
      buckets: ReturnType<typeof bucketRows>;
      breaking: ReturnType<typeof breakingPoint>;
      p95LimitMs: number;
    })[];
    warnings: { scenario: string; text: string }[];
  })[];
}

export function viewOf(
  runs: RunFile[],
  baseline: boolean,
  generatedAt = new Date().toISOString(),
): ReportView {
  return {
    title: baseline
      ? 'Relay performance baseline (Story 9.1)'
      : `Relay performance run ${runs.map((r) => r.meta.runId).join(', ')}`,
    baseline,
    generatedAt,
    // Flattened here because the templates avoid `../` (Prettier's Glimmer parser rejects it).
    runs: runs.map((run) => ({
      ...run,
      scenarios: run.scenarios.map((s) => ({ ...s, anchor: `${run.meta.runId}-${s.name}` })),
      runGates: Object.entries(run.meta.gates ?? {}).map(([k, v]) =>
        k.startsWith('condition') ? v : `${k} ${v}`,
      ),
      rampScenarios: run.scenarios
        .filter((s) => s.family === 'throughput-ramp')
        .map((s) => ({
          ...s,
          buckets: bucketRows(s),
          breaking: breakingPoint(s, p95Limit(run)),
          p95LimitMs: p95Limit(run),
        })),
      warnings: run.scenarios.flatMap((s) => s.warnings.map((text) => ({ scenario: s.name, text }))),
    })),
  };
}

function template(name: string, hb: typeof Handlebars): Handlebars.TemplateDelegate {
  return hb.compile(readFileSync(path.join(TEMPLATES, name), 'utf8'), { noEscape: name.endsWith('.md.hbs') });
}

export function renderMarkdown(view: ReportView): string {
  return template('baseline-report.md.hbs', createRenderer())(view);
}

export function renderHtml(view: ReportView): string {
  const hb = createRenderer();
  return template(
    'report.html.hbs',
    hb,
  )({
    ...view,
    uplotJs: readFileSync(path.join(UPLOT_DIR, 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(path.join(UPLOT_DIR, 'uPlot.min.css'), 'utf8'),
  });
}

export function loadRun(runDir: string): RunFile {
  const file = path.join(runDir, 'run.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunFile;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export function renderRunReports(runDir: string): void {
  const view = viewOf([loadRun(runDir)], false);
  writeFileSync(path.join(runDir, 'report.md'), renderMarkdown(view));
  writeFileSync(path.join(runDir, 'report.html'), renderHtml(view));
}

export function renderBaseline(runDirs: string[], outFile: string): void {
  const view = viewOf(runDirs.map(loadRun), true);
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, renderMarkdown(view));
}
