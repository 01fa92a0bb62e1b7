/** capacity.json and capacity.html of a capacity run: both searches, their knees and latency-versus-rate curves. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderTemplate } from '../report/render';
import type { ProbePoint, SearchResult } from './search';

export interface CapacityDocument {
  runId: string;
  gitCommit: string;
  generatedAt: string;
  settings: {
    endpoints: number;
    connectionsPerEndpoint: number;
    sloMs: number;
    holdSeconds: number;
    maxRate: number;
    resolution: number;
    statsMode: string;
    database: string;
    /** --generators as given: a count, or `auto` (each curve point then says how many ran); absent in older files */
    generators?: number | 'auto';
  };
  relay: SearchResult;
  /** null with --no-reference */
  reference: SearchResult | null;
  /** relay knee / reference knee; null when either is missing or the reference knee is 0 */
  ratio: number | null;
}

/** relay knee / reference knee, rounded to 0.01. */
export function kneeRatio(relay: SearchResult, reference: SearchResult | null): number | null {
  if (!reference || reference.kneeMsgPerSec === 0) return null;
  return Math.round((relay.kneeMsgPerSec / reference.kneeMsgPerSec) * 100) / 100;
}

/**
 * The two curves on one x axis for uPlot: the union of probed rates, each curve's p95 and p99
 * at its own rates and null elsewhere (drawn with spanGaps), and the SLO as a flat line.
 */
export function chartData(doc: CapacityDocument): (number | null)[][] {
  const curves = [doc.relay.curve, doc.reference?.curve ?? []];
  const rates = [...new Set(curves.flat().map((p) => p.rate))].sort((a, b) => a - b);
  const at = (curve: ProbePoint[], key: 'p95' | 'p99') =>
    rates.map((r) => curve.find((p) => p.rate === r)?.[key] ?? null);
  return [
    rates,
    at(curves[0], 'p95'),
    at(curves[0], 'p99'),
    at(curves[1], 'p95'),
    at(curves[1], 'p99'),
    rates.map(() => doc.settings.sloMs),
  ];
}

const UPLOT_DIR = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

/** capacity.html: the knees, the latency-versus-rate chart (uPlot inlined, opens offline), every probe. */
export function renderCapacityHtml(doc: CapacityDocument): string {
  const searches = [
    { name: 'project relay', search: doc.relay },
    ...(doc.reference ? [{ name: 'reference relay', search: doc.reference }] : []),
  ];
  return renderTemplate('capacity.html.hbs', {
    ...doc,
    searches,
    chart: JSON.stringify(chartData(doc)),
    uplotJs: readFileSync(path.join(UPLOT_DIR, 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(path.join(UPLOT_DIR, 'uPlot.min.css'), 'utf8'),
  });
}
