/**
 * comparison.html of a --mode both run: the side-by-side table of the two passes, overlaid charts
 * (messages per second and the latency distribution of both passes), then each pass's own report.
 */
import { loadRun } from '../load';
import { writeDocument } from '../render';
import { comparisonView } from './comparison';
import { renderHtml, viewOf } from './run-report';
import { generatorSeconds, percentileCurve, type ChartSpec } from './run-report-charts';

const PASS_COLORS = ['#b3261e', '#2a7ab9'];

/**
 * The overlaid charts of one scenario that both passes ran: delivered msg/s per second (x: seconds
 * since the generator's first line) and the percentile curves; a chart is left out when a pass lacks its data.
 */
export function comparisonCharts(
  passes: { dir: string; mode: string }[],
  scenario: string,
  prefix: string,
): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const secs = passes.map((p) => generatorSeconds(p.dir, scenario));
  if (secs.every((s) => s.length > 0)) {
    const n = Math.max(...secs.map((s) => s.length));
    charts.push({
      id: `${prefix}-${scenario}-delivered`,
      title: 'Delivered msg/s per second, both passes',
      xLabel: 's',
      yLabel: 'msg/s',
      x: Array.from({ length: n }, (_, i) => i),
      lines: secs.map((s, i) => ({
        label: passes[i].mode,
        color: PASS_COLORS[i % PASS_COLORS.length],
        values: Array.from({ length: n }, (_, k) => s[k]?.delivered ?? null),
      })),
    });
  }
  const runs = passes.map((p) => loadRun(p.dir));
  const curves = passes.map((p, i) => {
    const s = runs[i].scenarios.find((x) => x.name === scenario);
    return s ? percentileCurve(p.dir, s) : [];
  });
  const percentiles = [...new Set(curves.flat().map((c) => c.percentile))].sort((a, b) => a - b);
  if (curves.every((c) => c.length > 0))
    charts.push({
      id: `${prefix}-${scenario}-percentiles`,
      title: 'Latency distribution, both passes',
      xLabel: 'percentile',
      yLabel: 'ms',
      x: percentiles.map((_, i) => i),
      xTicks: percentiles.map((p) => (p === 0 ? 'min' : p === 100 ? 'max' : `p${p}`)),
      lines: curves.map((c, i) => ({
        label: passes[i].mode,
        color: PASS_COLORS[i % PASS_COLORS.length],
        values: percentiles.map((p) => c.find((x) => x.percentile === p)?.ms ?? null),
      })),
      points: true,
    });
  return charts;
}

/**
 * Writes comparison.html of a --mode both run from its pass directories (immediate first).
 * Throws when there are fewer than two passes or a run.json cannot be read.
 */
export function renderComparisonHtml(passDirs: string[], outFile: string): void {
  const runs = passDirs.map(loadRun);
  if (runs.length < 2) throw new Error('a comparison needs two passes (run with --mode both)');
  const cmp = comparisonView(runs);
  const passes = passDirs.map((dir, i) => ({ dir, mode: runs[i].meta.statsMode }));
  const prefix = `cmp-${runs[0].meta.runId.split('/')[0].replace(/[^\w-]/g, '-')}`;
  const view = viewOf(runs, false);
  writeDocument(
    outFile,
    renderHtml(
      {
        ...view,
        title: `Batched vs immediate stats: ${runs[0].meta.runId.split('/')[0]}`,
      },
      passDirs,
      {
        before: cmp.before.meta.statsMode,
        after: cmp.after.meta.statsMode,
        table: cmp.rows.flatMap((r) => [
          { name: r.name, mode: cmp.before.meta.statsMode, s: r.before },
          { name: r.name, mode: cmp.after.meta.statsMode, s: r.after },
        ]),
        rows: cmp.rows.map((r) => ({ name: r.name, charts: comparisonCharts(passes, r.name, prefix) })),
      },
    ),
  );
}
