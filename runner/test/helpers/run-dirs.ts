/**
 * Run directories written the way the runner writes them (run.json plus each scenario's /metrics
 * scrapes), from the verdict-checked fixture, for the tests of the documents rendered from runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunFile } from '../../report/load';
import { loadRunFixture } from './run-fixture';

export const fixture = loadRunFixture();

/** /metrics text as the relay writes it, for one scenario of one mode. */
export function prom(frames: number, statsUpdates: number, flushes: number): string {
  return [
    `relay_frames_received_total ${frames}`,
    `relay_deliveries_total ${frames * 9}`,
    `relay_db_statements_total{verb="UPDATE"} ${statsUpdates + flushes}`,
    `relay_db_query_duration_seconds_bucket{le="0.001",model="EndpointStats",operation="update"} ${statsUpdates}`,
    `relay_db_query_duration_seconds_bucket{le="+Inf",model="EndpointStats",operation="update"} ${statsUpdates}`,
    `relay_db_query_duration_seconds_sum{model="EndpointStats",operation="update"} ${statsUpdates * 0.0005}`,
    `relay_db_query_duration_seconds_count{model="EndpointStats",operation="update"} ${statsUpdates}`,
    `relay_flush_duration_seconds_bucket{le="+Inf",kind="stats",outcome="ok"} ${flushes}`,
    `relay_flush_duration_seconds_sum{kind="stats",outcome="ok"} ${flushes * 0.001}`,
    `relay_flush_duration_seconds_count{kind="stats",outcome="ok"} ${flushes}`,
    'nodejs_eventloop_lag_p99_seconds 0.004',
  ].join('\n');
}

/**
 * Writes a pass directory the way the runner does: run.json plus the /metrics scrapes (3,000 frames
 * per scenario; immediate: one stats update each, batched: 30 flushes).
 */
export function writePass(
  dir: string,
  mode: 'immediate' | 'batched',
  extra: Partial<RunFile> = {},
  meta: Partial<RunFile['meta']> = {},
): void {
  mkdirSync(dir, { recursive: true });
  const run: RunFile = {
    ...fixture,
    ...extra,
    meta: { ...fixture.meta, statsMode: mode, runId: `r/${mode}`, ...meta },
  };
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run));
  for (const s of run.scenarios) {
    writeFileSync(path.join(dir, `${s.name}.metrics-before.prom`), prom(0, 0, 0));
    const after = mode === 'immediate' ? prom(3000, 3000, 0) : prom(3000, 0, 30);
    writeFileSync(path.join(dir, `${s.name}.metrics-after.prom`), after);
  }
}
