/** A run's own report (report.md, report.html), also the shape of the baseline and acceptance documents. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { passFiles } from '../../paths';
import type { ScenarioResult } from '../../results';
import { loadRun, type RunFile } from '../load';
import { breakingPoint, bucketRows, p95Limit } from '../ramp';
import { renderTemplate } from '../render';
import { scenarioCharts, type ChartSpec } from './run-report-charts';

const UPLOT_DIR = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
/** The template of report.md and of the documents in the same shape. */
export const RUN_REPORT_TEMPLATE = 'baseline-report.md.hbs';

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

/**
 * The view of baseline-report.md.hbs: the runs as loaded, flattened for the templates. With
 * `published` (title and `render` flag) it is a published document; without, a run report.
 */
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

export function renderMarkdown(view: ReportView): string {
  return renderTemplate(RUN_REPORT_TEMPLATE, view);
}

/** uPlot's script and stylesheet, inlined into the HTML documents so they open offline. */
export function uplotAssets(): { uplotJs: string; uplotCss: string } {
  return {
    uplotJs: readFileSync(path.join(UPLOT_DIR, 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(path.join(UPLOT_DIR, 'uPlot.min.css'), 'utf8'),
  };
}

/** The side-by-side section of comparison.html (run-report-comparison.ts); absent in a pass's report. */
export interface ComparisonSection {
  before: string;
  after: string;
  /** both passes of each scenario, in turn */
  table: { name: string; mode: string; s: ScenarioResult }[];
  /** the overlaid charts of each scenario */
  rows: { name: string; charts: ChartSpec[] }[];
}

/**
 * The HTML report of `view`, whose runs were loaded from `passDirs` (same order): each scenario
 * gets its charts (see run-report-charts.ts) from the files its pass directory holds. With
 * `comparison`, the side-by-side section comes first.
 */
export function renderHtml(view: ReportView, passDirs: string[], comparison?: ComparisonSection): string {
  return renderTemplate('report.html.hbs', {
    ...view,
    comparison,
    runs: view.runs.map((run, i) => ({
      ...run,
      scenarios: run.scenarios.map((s) => ({
        ...s,
        charts: scenarioCharts(passDirs[i], s, run.meta.runId.replace(/[^\w-]/g, '-')),
      })),
    })),
    ...uplotAssets(),
  });
}

/** (Re)writes report.md and report.html of one pass directory from its run.json. */
export function renderRunReports(passDir: string): void {
  const view = viewOf([loadRun(passDir)], false);
  writeFileSync(passFiles.reportMd(passDir), renderMarkdown(view));
  writeFileSync(passFiles.reportHtml(passDir), renderHtml(view, [passDir]));
}
