/**
 * Renders run.json files with Handlebars: report.md + report.html per run, and
 * the committed docs/performance/baseline-report.md from one or more runs
 * (e.g. SQLite and MySQL side by side).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { loadConfig } from '../backend/src/config';
import type { ProfileSummary } from './cpu-profile';
import type { RunMeta } from './metadata';
import type { SlowLogResult } from './mysql-slow-log';
import type { PlansReport } from './query-plans';
import { MIN_TREND_SECONDS, memoryTrend } from './memory-trend';
import { relayFigures, type DbOperation } from './relay-metrics';
import type { ScenarioResult } from './results';

export interface RunFile {
  meta: RunMeta;
  passed: boolean;
  scenarios: ScenarioResult[];
  cpuProfile?: { file: string; summary: ProfileSummary } | null;
  slowLog?: SlowLogResult | null;
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
  // A percentile from histogram buckets; "≥" when it lies above the highest finite bucket.
  hb.registerHelper('q', (obj: unknown, key: unknown, digits: unknown) => {
    if (!obj || typeof obj !== 'object' || typeof key !== 'string') return '-';
    const o = obj as Record<string, unknown>;
    return `${o[`${key}Capped`] ? '≥ ' : ''}${fmt(o[key], digits)}`;
  });
  hb.registerHelper('anyMemory', (scenarios: unknown) =>
    Array.isArray(scenarios) ? scenarios.some((s: ScenarioResult) => s.memory) : false,
  );
  hb.registerHelper('minutes', (seconds: unknown) =>
    typeof seconds === 'number' ? `${fmt(seconds / 60, seconds < 600 ? 1 : 0)} min` : '-',
  );
  hb.registerHelper('minTrendMinutes', () => MIN_TREND_SECONDS / 60);
  hb.registerHelper('settings', (v: unknown) =>
    v === undefined || v === null
      ? 'not recorded (run made before the runner recorded them)'
      : typeof v === 'object' && Object.keys(v).length
        ? Object.entries(v as Record<string, string>)
            .map(([k, val]) => `\`${k}=${val}\``)
            .join(', ')
        : 'none (defaults)',
  );
  hb.registerHelper('raw', (v: unknown) => new hb.SafeString(String(v ?? '')));
  const partials = path.join(TEMPLATES, 'partials');
  for (const file of existsSync(partials) ? readdirSync(partials) : []) {
    hb.registerPartial(
      file.replace(/\.md\.hbs$|\.hbs$/, ''),
      readFileSync(path.join(partials, file), 'utf8'),
    );
  }
  hb.registerHelper('verbs', (v: unknown) =>
    v && typeof v === 'object' && Object.keys(v).length
      ? Object.entries(v as Record<string, number>)
          .sort((a, b) => b[1] - a[1])
          .map(([verb, n]) => `${verb} ${fmt(n)}`)
          .join(', ')
      : '-',
  );
  // "3.2x" style ratio of two numbers; '-' when either is missing.
  hb.registerHelper('ratio', (a: unknown, b: unknown) =>
    typeof a === 'number' && typeof b === 'number' && b !== 0 ? `${fmt(a / b, a / b >= 10 ? 0 : 1)}x` : '-',
  );
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
  /** The `render` flag that publishes this document; absent for a run's own report. */
  publishFlag?: string;
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
  published?: { title: string; flag: string },
): ReportView {
  return {
    title:
      published?.title ??
      (baseline
        ? 'Relay performance baseline (Story 9.1)'
        : `Relay performance run ${runs.map((r) => r.meta.runId).join(', ')}`),
    baseline,
    publishFlag: published?.flag ?? (baseline ? '--baseline' : undefined),
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
  let run: RunFile;
  try {
    run = JSON.parse(readFileSync(file, 'utf8')) as RunFile;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  // The saved scrapes are the source: re-deriving keeps re-rendered reports in step with the parser.
  for (const s of run.scenarios) {
    s.memory = memoryTrend(s);
    const [before, after] = ['before', 'after'].map((w) => path.join(runDir, `${s.name}.metrics-${w}.prom`));
    if (existsSync(before) && existsSync(after)) {
      s.relayMetrics = relayFigures(readFileSync(before, 'utf8'), readFileSync(after, 'utf8'));
    }
  }
  return run;
}

export function renderRunReports(runDir: string): void {
  const view = viewOf([loadRun(runDir)], false);
  writeFileSync(path.join(runDir, 'report.md'), renderMarkdown(view));
  writeFileSync(path.join(runDir, 'report.html'), renderHtml(view));
}

/** The pass directories of a run: itself, or one per mode after --mode both. */
export function passesOf(runDir: string): string[] {
  if (existsSync(path.join(runDir, 'run.json'))) return [runDir];
  const dirs = readdirSync(runDir)
    .map((d) => path.join(runDir, d))
    .filter((d) => existsSync(path.join(d, 'run.json')));
  if (dirs.length === 0) throw new Error(`${runDir} holds no run.json (nor passes with one)`);
  return dirs;
}

/** The legacy (STATS_MODE=immediate) pass of each run: what the baseline and the analysis describe. */
function baselinePasses(runDirs: string[]): RunFile[] {
  const runs = runDirs.flatMap(passesOf).map(loadRun);
  const baseline = runs.filter((r) => r.meta.statsMode === 'immediate');
  if (baseline.length === 0) throw new Error('none of these runs has a STATS_MODE=immediate pass');
  return baseline;
}

function write(outFile: string, text: string): void {
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, text);
}

export function renderBaseline(runDirs: string[], outFile: string): void {
  write(outFile, renderMarkdown(viewOf(baselinePasses(runDirs), true)));
}

/** The acceptance scenario's runs, published as they were measured. */
export function renderAcceptance(runDirs: string[], outFile: string): void {
  const runs = runDirs.flatMap(passesOf).map(loadRun);
  if (!runs.some((r) => r.scenarios.some((s) => s.family === 'acceptance'))) {
    throw new Error('none of these runs ran the acceptance scenario (--profile full --only acceptance)');
  }
  const view = viewOf(runs, false, new Date().toISOString(), {
    title: 'Final acceptance run (Story 9.3): 50 endpoints x 10 connections for 1 hour',
    flag: '--acceptance',
  });
  write(outFile, renderMarkdown(view));
}

const byName = (run: RunFile, name: string) => run.scenarios.find((s) => s.name === name);

/** Each DB operation kind either pass ran in a scenario, with both passes' figures. */
function opsSideBySide(before: ScenarioResult, after: ScenarioResult) {
  const key = (o: DbOperation) => `${o.model}.${o.operation}`;
  const b = new Map((before.relayMetrics?.db.operations ?? []).map((o) => [key(o), o]));
  const a = new Map((after.relayMetrics?.db.operations ?? []).map((o) => [key(o), o]));
  return [...new Set([...b.keys(), ...a.keys()])].map((k) => ({
    key: k,
    before: b.get(k) ?? null,
    after: a.get(k) ?? null,
  }));
}

/** Scenarios side by side across passes (same names), for --mode both. */
export function comparisonView(runs: RunFile[], generatedAt = new Date().toISOString()) {
  const [before, after] = runs;
  const rows = before.scenarios
    .filter((s) => byName(after, s.name))
    .map((b) => {
      const a = byName(after, b.name)!;
      return { name: b.name, informational: b.informational, before: b, after: a, ops: opsSideBySide(b, a) };
    });
  const ramps = rows
    .filter((r) => r.before.family === 'throughput-ramp')
    .map((r) => ({
      name: r.name,
      before: breakingPoint(r.before, p95Limit(before)),
      after: breakingPoint(r.after, p95Limit(after)),
      limit: p95Limit(before),
    }));
  return { generatedAt, before, after, rows, ramps };
}

export function renderComparison(passDirs: string[], outFile: string): void {
  const runs = passDirs.map(loadRun);
  if (runs.length < 2) throw new Error('a comparison needs two passes (run with --mode both)');
  write(outFile, template('comparison.md.hbs', createRenderer())(comparisonView(runs)));
}

/** Comparisons of several --mode both runs (e.g. SQLite and MySQL) in one document. */
export function renderComparisons(runDirs: string[], outFile: string): void {
  const views = runDirs.map((dir) => {
    const passes = passesOf(dir).map(loadRun);
    if (passes.length < 2) throw new Error(`${dir} is not a --mode both run`);
    const order = (r: RunFile) => (r.meta.statsMode === 'immediate' ? 0 : 1);
    return comparisonView(passes.sort((a, b) => order(a) - order(b)));
  });
  write(
    outFile,
    template('comparisons.md.hbs', createRenderer())({ generatedAt: new Date().toISOString(), views }),
  );
}

/** The baseline passes, with the figures each bottleneck section quotes. */
export function analysisView(runs: RunFile[], generatedAt = new Date().toISOString()) {
  return {
    generatedAt,
    runs: runs.map((run) => {
      const figures = run.scenarios
        .filter((s) => s.relayMetrics)
        .map((s) => ({
          name: s.name,
          sentPerSec: s.sentPerSec,
          latency: s.latency,
          relay: s.relay,
          m: s.relayMetrics!,
        }));
      const ramp = run.scenarios.find((s) => s.family === 'throughput-ramp');
      const busiest = [...figures]
        .filter((f) => !f.name.includes('ramp'))
        .sort((a, b) => b.sentPerSec - a.sentPerSec)[0];
      const profile = run.cpuProfile?.summary;
      const area = (name: string) => profile?.byArea.find((a) => a.area === name)?.selfPercent ?? 0;
      const fn = (re: RegExp) =>
        profile
          ? Math.round(
              profile.top.filter((f) => re.test(f.functionName)).reduce((s, f) => s + f.selfPercent, 0) * 10,
            ) / 10
          : null;
      const framesTotal = figures.reduce((sum, f) => sum + f.m.framesReceived, 0);
      const dbOpsTotal = figures.reduce((sum, f) => sum + f.m.db.queries, 0);
      const share = (part: number | null | undefined, whole: number) =>
        part != null && whole > 0 ? Math.round((part / whole) * 1000) / 1000 : null;
      return {
        ...run,
        figures,
        busiest,
        framesTotal,
        dbOpsPerFrame: share(dbOpsTotal, framesTotal),
        cpuMsPerFrame: profile ? share(profile.busyMs, framesTotal) : null,
        ramp: ramp
          ? { scenario: ramp, breaking: breakingPoint(ramp, p95Limit(run)), m: ramp.relayMetrics }
          : null,
        profile,
        profileFile: run.cpuProfile?.file,
        dbShare: profile
          ? Math.round((area('Prisma client and adapters') + area('database driver')) * 10) / 10
          : null,
        wsShare: profile ? area('ws (WebSocket library)') : null,
        relayShare: profile ? area('relay code') : null,
        jsonShare: fn(/^(parse|stringify|JSON\.)/),
        broadcastShare: fn(/^broadcast$/),
        heartbeatShare: fn(/^(tick|ping)$/),
      };
    }),
  };
}

export function renderQueryPlans(reports: PlansReport[], outFile: string): void {
  write(
    outFile,
    template('query-plans.md.hbs', createRenderer())({ reports, generatedAt: new Date().toISOString() }),
  );
}

export function renderAnalysis(runDirs: string[], outFile: string): void {
  write(
    outFile,
    template('bottleneck-analysis.md.hbs', createRenderer())(analysisView(baselinePasses(runDirs))),
  );
}

/**
 * Runs that differ in DB_POOL_SIZE, grouped by STATS_MODE and scenario, smallest pool first:
 * what the pool size was chosen from.
 */
export function poolSizingView(runs: RunFile[], generatedAt = new Date().toISOString()) {
  const sized = runs.map((run) => {
    if (!run.meta.relaySettings) {
      throw new Error(`run ${run.meta.runId} did not record its relay settings; re-run it with this runner`);
    }
    const raw = run.meta.relaySettings.DB_POOL_SIZE;
    return {
      run,
      // Unset means the relay's own default, read from the one place that defines it.
      poolSize: raw === undefined ? loadConfig({}).DB_POOL_SIZE : Number(raw),
      isDefault: raw === undefined,
    };
  });
  const op = (s: ScenarioResult, key: string) =>
    s.relayMetrics?.db.operations.find((o) => `${o.model}.${o.operation}` === key) ?? null;
  const modes = [...new Set(sized.map((x) => x.run.meta.statsMode))].map((mode) => {
    const ofMode = sized.filter((x) => x.run.meta.statsMode === mode).sort((a, b) => a.poolSize - b.poolSize);
    const names = [...new Set(ofMode.flatMap((x) => x.run.scenarios.map((s) => s.name)))];
    return {
      mode,
      scenarios: names.map((name) => ({
        name,
        rows: ofMode.flatMap(({ run, poolSize, isDefault }) => {
          const s = byName(run, name);
          return s
            ? [
                {
                  poolSize,
                  isDefault,
                  runId: run.meta.runId,
                  s,
                  tokenCheck: op(s, 'Endpoint.findUnique'),
                  create: op(s, 'Endpoint.create'),
                  flush: op(s, 'raw.$executeRawUnsafe'),
                  statsUpdate: op(s, 'EndpointStats.update'),
                },
              ]
            : [];
        }),
      })),
    };
  });
  const first = sized[0].run.meta;
  const commands = sized.map(({ run }) => ({
    runId: run.meta.runId,
    poolSize: run.meta.relaySettings?.DB_POOL_SIZE,
    command: run.meta.command,
  }));
  return {
    generatedAt,
    meta: first,
    dbProviders: [...new Set(runs.map((r) => r.meta.dbProvider))],
    modes,
    runs: commands,
  };
}

export function renderPoolSizing(runDirs: string[], outFile: string): void {
  const runs = runDirs.flatMap(passesOf).map(loadRun);
  write(outFile, template('pool-sizing.md.hbs', createRenderer())(poolSizingView(runs)));
}
