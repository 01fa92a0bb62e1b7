/**
 * STATS_MODE=immediate vs batched, scenario by scenario: a --mode both run's comparison.md, and
 * docs/performance/optimization-comparison.md from several such runs (e.g. SQLite and MySQL).
 */
import type { DbOperation } from '../../relay-metrics';
import type { ScenarioResult } from '../../results';
import { byName, loadRun, passesOf, type RunFile } from '../load';
import { breakingPoint, p95Limit } from '../ramp';
import { renderTemplate, writeDocument } from '../render';

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

/** Writes a --mode both run's own comparison.md from its two pass directories (immediate first). */
export function renderComparison(passDirs: string[], outFile: string): void {
  const runs = passDirs.map(loadRun);
  if (runs.length < 2) throw new Error('a comparison needs two passes (run with --mode both)');
  writeDocument(outFile, renderTemplate('comparison.md.hbs', comparisonView(runs)));
}

/** One comparison per --mode both run directory; throws for a directory that is not one. */
export function comparisonsView(runDirs: string[], generatedAt: string) {
  const views = runDirs.map((dir) => {
    const passes = passesOf(dir).map(loadRun);
    if (passes.length < 2) throw new Error(`${dir} is not a --mode both run`);
    const order = (r: RunFile) => (r.meta.statsMode === 'immediate' ? 0 : 1);
    return comparisonView(passes.sort((a, b) => order(a) - order(b)));
  });
  return { generatedAt, views };
}
