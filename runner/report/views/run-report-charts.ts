/**
 * The charts of report.html, built from what a pass directory holds: the generator's per-second
 * totals (`<scenario>.samples.json`, summed from the processor's progress lines), the per-second
 * resource samples, the exact latency histograms (`<scenario>.latency/`) and the 10 s series.
 * Every chart has the same shape (ChartSpec), drawn by one script (templates/partials/report-charts-script.hbs).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mergeLatencyDir } from '../../../processors/lib/latency';
import { scenarioFiles } from '../../paths';
import type { SecondTotals } from '../../progress';
import type { LatencyStats, ScenarioResult } from '../../results';

/** One line of a chart: `values[i]` belongs to the chart's `x[i]`; null is a gap. */
export interface ChartLine {
  label: string;
  color: string;
  values: (number | null)[];
  dash?: boolean;
}

/** One uPlot chart. */
export interface ChartSpec {
  /** unique in the page, e.g. "<run>-<scenario>-throughput" */
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  /** axis labels for x positions (category axes, e.g. "p99"); absent for a numeric axis */
  xTicks?: string[];
  lines: ChartLine[];
  /** draw every point (for few points) */
  points?: boolean;
}

/** One point of a latency distribution: `percentile` in [0, 100], `ms` the latency at it. */
export interface PercentilePoint {
  percentile: number;
  ms: number;
}

/** Where the percentile curve is read from the exact histograms. */
const CURVE_PERCENTILES = [0, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

/** The LatencyStats keys, for a pass without its histogram files. */
const STATS_PERCENTILES: [key: keyof LatencyStats, percentile: number][] = [
  ['min', 0],
  ['p50', 50],
  ['p95', 95],
  ['p99', 99],
  ['max', 100],
];

/**
 * The latency distribution of a scenario (from the intended send time) as {percentile, ms}
 * points, ascending: read from the exact HDR histograms the generator threads wrote
 * (`<scenario>.latency/`, merged) at CURVE_PERCENTILES, else from the result's LatencyStats
 * (min, p50, p95, p99, max). Empty when nothing was delivered.
 */
export function percentileCurve(passDir: string, s: ScenarioResult): PercentilePoint[] {
  const dir = path.join(passDir, `${s.name}.latency`);
  const merged = existsSync(dir) ? safeMerge(dir) : null;
  const h = merged?.set.intended;
  if (h && h.totalCount > 0)
    return CURVE_PERCENTILES.map((percentile) => ({
      percentile,
      ms: Math.round(percentile === 100 ? h.maxValue : h.getValueAtPercentile(percentile)) / 1000,
    }));
  const stats = s.latency;
  if (!stats || stats.count === 0) return [];
  return STATS_PERCENTILES.map(([key, percentile]) => ({ percentile, ms: stats[key] }));
}

function safeMerge(dir: string): ReturnType<typeof mergeLatencyDir> {
  try {
    return mergeLatencyDir(dir);
  } catch {
    return null;
  }
}

/**
 * The generator's per-second totals of a scenario, one entry per wall-clock second from the first
 * to the last second that has any line; seconds without a line are null entries (gaps). Empty when
 * the samples file is missing (runs made before it existed).
 */
export function generatorSeconds(passDir: string, scenario: string): (SecondTotals | null)[] {
  const saved = readJson<{ progress?: SecondTotals[] }>(scenarioFiles(passDir, scenario).samples);
  const seconds = saved?.progress ?? [];
  if (seconds.length === 0) return [];
  const byT = new Map(seconds.map((s) => [s.t, s]));
  const first = seconds[0].t;
  const last = seconds[seconds.length - 1].t;
  const out: (SecondTotals | null)[] = [];
  for (let t = first; t <= last; t += 1000) out.push(byT.get(t) ?? null);
  return out;
}

/**
 * Every chart of one scenario, in page order; a chart whose data is missing is left out, so each
 * chart drawn has points. `prefix` makes the ids unique across runs.
 */
export function scenarioCharts(passDir: string, s: ScenarioResult, prefix: string): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const id = (name: string) => `${prefix}-${s.name}-${name}`;

  const secs = generatorSeconds(passDir, s.name);
  if (secs.length > 0) {
    // On the resource samples' clock (which starts with Artillery's launch), so the charts line up.
    const first = secs[0]!.t;
    const t0 = s.resources.start > 0 && s.resources.start <= first ? s.resources.start : first;
    const x = secs.map((_, i) => (first - t0) / 1000 + i);
    const col = (f: (v: SecondTotals) => number) => secs.map((v) => (v ? f(v) : null));
    charts.push(
      {
        id: id('throughput'),
        title: 'Messages per second (generator)',
        xLabel: 's',
        yLabel: 'msg/s',
        x,
        lines: [
          { label: 'sent', color: '#2a7ab9', values: col((v) => v.sent) },
          { label: 'delivered', color: '#0a7a32', values: col((v) => v.delivered) },
        ],
      },
      {
        id: id('connections'),
        title: 'Open connections (generator)',
        xLabel: 's',
        yLabel: 'connections',
        x,
        lines: [{ label: 'open', color: '#6a3d9a', values: col((v) => v.vus) }],
      },
      {
        id: id('generator-lag'),
        title: 'Generator health per second',
        xLabel: 's',
        yLabel: 'ms',
        x,
        lines: [
          { label: 'send lag max', color: '#e66101', values: col((v) => v.sendLagMaxMs) },
          { label: 'event-loop stall max', color: '#999999', values: col((v) => v.stallMaxMs) },
        ],
      },
    );
  }

  const curve = percentileCurve(passDir, s);
  if (curve.length > 0)
    charts.push({
      id: id('percentiles'),
      title: 'Latency distribution (percentile curve)',
      xLabel: 'percentile',
      yLabel: 'ms',
      x: curve.map((_, i) => i),
      xTicks: curve.map((p) =>
        p.percentile === 0 ? 'min' : p.percentile === 100 ? 'max' : `p${p.percentile}`,
      ),
      lines: [{ label: 'latency', color: '#b3261e', values: curve.map((p) => p.ms) }],
      points: true,
    });

  const r = s.resources;
  if (r.t.length > 0)
    charts.push({
      id: id('resources'),
      title: 'CPU per second (% of one core)',
      xLabel: 's',
      yLabel: '%',
      x: r.t,
      lines: [
        { label: 'relay CPU', color: '#6a3d9a', values: r.relayCpu },
        { label: 'generator CPU', color: '#e66101', values: r.generatorCpu },
      ],
    });
  if (r.t.length > 0 && r.relayRssMb.some((v) => v !== null))
    charts.push({
      id: id('rss'),
      title: 'Relay memory (RSS) per second',
      xLabel: 's',
      yLabel: 'MB',
      x: r.t,
      lines: [{ label: 'relay RSS', color: '#2a7ab9', values: r.relayRssMb }],
    });

  // Per 10 s (merged from the generator's per-second histograms); points show even when a short scenario has one or two.
  if (s.series.t.length > 0 && s.series.p95.some((v) => v !== null))
    charts.push({
      id: id('latency-buckets'),
      title: 'Latency per 10 s (from the intended send time)',
      xLabel: 's',
      yLabel: 'ms',
      x: s.series.t,
      lines: [
        { label: 'p50', color: '#2a7ab9', values: s.series.p50 },
        { label: 'p95', color: '#e0a100', values: s.series.p95 },
        { label: 'p99', color: '#b3261e', values: s.series.p99 },
      ],
      points: true,
    });
  return charts;
}

function readJson<T>(file: string): T | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}
