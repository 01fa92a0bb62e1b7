import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProfileSummary } from '../cpu-profile';
import { renderAnalysis, renderComparisons, type RunFile } from '../report';

const fixture = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'run.json'), 'utf8')) as RunFile;

/** /metrics text as the relay writes it, for one scenario of one mode. */
function prom(frames: number, statsUpdates: number, flushes: number): string {
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

/** Writes a run directory the way the runner does: run.json plus the /metrics scrapes. */
function writePass(dir: string, mode: 'immediate' | 'batched', extra: Partial<RunFile> = {}): void {
  mkdirSync(dir, { recursive: true });
  const run: RunFile = {
    ...fixture,
    ...extra,
    meta: { ...fixture.meta, statsMode: mode, runId: `r/${mode}` },
  };
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run));
  for (const s of run.scenarios) {
    writeFileSync(path.join(dir, `${s.name}.metrics-before.prom`), prom(0, 0, 0));
    const after = mode === 'immediate' ? prom(3000, 3000, 0) : prom(3000, 0, 30);
    writeFileSync(path.join(dir, `${s.name}.metrics-after.prom`), after);
  }
}

const profile: ProfileSummary = {
  durationMs: 60000,
  busyMs: 20000,
  top: [
    {
      frame: 'update (@prisma/client/x.js:1)',
      functionName: 'update',
      location: '@prisma/client/x.js:1',
      selfMs: 4000,
      selfPercent: 20,
    },
  ],
  byArea: [
    { area: 'Prisma client and adapters', selfMs: 8000, selfPercent: 40 },
    { area: 'ws (WebSocket library)', selfMs: 2000, selfPercent: 10 },
  ],
};

describe('published documents render from run directories', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'relay-docs-'));
  const both = path.join(root, 'both');
  writePass(path.join(both, 'immediate'), 'immediate', {
    cpuProfile: { file: 'CPU.x.cpuprofile', summary: profile },
  });
  writePass(path.join(both, 'batched'), 'batched');

  test('comparison pairs scenarios and shows stats writes per 1,000 frames from the scrapes', () => {
    const out = path.join(root, 'comparison.md');
    renderComparisons([both], out);
    const md = readFileSync(out, 'utf8');
    expect(md).toContain('## sqlite: STATS_MODE=immediate vs batched');
    const row = md.split('\n').find((l) => l.startsWith('| throughput-100 | 3,000 / 3,000 |'));
    expect(row).toContain('**1,000 / 10**');
  });

  test('analysis quotes the baseline pass: writes per frame, DB time, profile areas', () => {
    const out = path.join(root, 'analysis.md');
    renderAnalysis([both], out);
    const md = readFileSync(out, 'utf8');
    expect(md).toContain('| `r/immediate` | sqlite |');
    expect(md).toMatch(/1,000 stats writes and 1,000 SQL statements in all per 1,000 frames/);
    expect(md).toContain('**40 %** was Prisma and the');
    expect(md).toContain('| Prisma client and adapters | 8,000 | 40 |');
    expect(md).not.toContain('r/batched');
  });

  test('a directory without a baseline pass is refused', () => {
    const only = path.join(root, 'only-batched');
    writePass(only, 'batched');
    expect(() => renderAnalysis([only], path.join(root, 'x.md'))).toThrow(/STATS_MODE=immediate/);
  });
});
