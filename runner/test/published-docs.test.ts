import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProfileSummary } from '../cpu-profile';
import { renderDocument, runDocument } from '../report/documents';
import type { RunFile } from '../report/load';
import { relaySettingsFrom } from '../metadata';
import { loadRunFixture } from './helpers/run-fixture';

/** What `render --<flag>` does, into `out` instead of the committed path. */
const renderDoc = (flag: string, runDirs: string[], out: string) =>
  renderDocument(runDocument(flag), runDirs, out);

const fixture = loadRunFixture();

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
function writePass(
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
    renderDoc('comparison', [both], out);
    const md = readFileSync(out, 'utf8');
    expect(md).toContain('## sqlite: STATS_MODE=immediate vs batched');
    const row = md.split('\n').find((l) => l.startsWith('| throughput-100 | 3,000 / 3,000 |'));
    expect(row).toContain('**1,000 / 10**');
  });

  test('analysis quotes the baseline pass: writes per frame, DB time, profile areas', () => {
    const out = path.join(root, 'analysis.md');
    renderDoc('analysis', [both], out);
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
    expect(() => renderDoc('analysis', [only], path.join(root, 'x.md'))).toThrow(/STATS_MODE=immediate/);
  });
});

describe('pool sizing document', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'relay-pool-'));

  test('rows per scenario, smallest pool first, the default marked, settings read from run.json', () => {
    writePass(path.join(root, 'p20'), 'batched', {}, { runId: 'p20', relaySettings: { DB_POOL_SIZE: '20' } });
    writePass(path.join(root, 'pdef'), 'batched', {}, { runId: 'pdef', relaySettings: {} });
    writePass(path.join(root, 'p2'), 'batched', {}, { runId: 'p2', relaySettings: { DB_POOL_SIZE: '2' } });
    const out = path.join(root, 'pool.md');
    renderDoc(
      'pool-sizing',
      ['p20', 'pdef', 'p2'].map((d) => path.join(root, d)),
      out,
    );
    const md = readFileSync(out, 'utf8');
    expect(md).toContain('## STATS_MODE=batched');
    const name = fixture.scenarios[0].name;
    const section = md.split(`### ${name}`)[1].split('###')[0];
    const rows = section.split('\n').filter((l) => /^\| \d/.test(l));
    expect(rows.map((r) => r.split('|')[1].trim())).toEqual(['2', '10 (default)', '20']);
    // the stats writes column comes from the scrapes: 30 flushes in batched mode
    expect(rows[0]).toContain('`p2`');
  });

  test('a run that did not record its relay settings is refused, not guessed', () => {
    writePass(path.join(root, 'old'), 'batched', {}, { runId: 'old', relaySettings: undefined });
    expect(() => renderDoc('pool-sizing', [path.join(root, 'old')], path.join(root, 'x.md'))).toThrow(
      /did not record its relay settings/,
    );
  });
});

test('relay settings: the relay variables in the environment, minus the ones the runner sets', () => {
  expect(
    relaySettingsFrom({
      DB_POOL_SIZE: '4',
      STATS_FLUSH_INTERVAL_MS: '250',
      DATABASE_URL: 'mysql://x',
      API_KEY: 'secret-secret-secret',
      STATS_MODE: 'immediate',
      PATH: '/usr/bin',
      HEARTBEAT_INTERVAL_MS: '',
      REDIS_URL: 'redis://relay:s3cret@cache:6379/0',
    }),
  ).toEqual({
    DB_POOL_SIZE: '4',
    STATS_FLUSH_INTERVAL_MS: '250',
    REDIS_URL: 'redis://relay:***@cache:6379/0',
  });
});

test('the acceptance document comes from a run of the acceptance scenario, and only from one', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'relay-acc-'));
  const scenarios = fixture.scenarios.map((s, i) => (i === 0 ? { ...s, family: 'acceptance' } : s));
  writePass(path.join(root, 'acc'), 'batched', { scenarios }, { runId: 'acc-run' });
  const out = path.join(root, 'acceptance.md');
  renderDoc('acceptance', [path.join(root, 'acc')], out);
  const md = readFileSync(out, 'utf8');
  expect(md).toContain('# Final acceptance run (Story 9.3)');
  expect(md).toContain('`pnpm test:performance render RUN_DIR... --acceptance`');
  expect(md).toContain('acc-run');

  writePass(path.join(root, 'none'), 'batched');
  expect(() => renderDoc('acceptance', [path.join(root, 'none')], out)).toThrow(/acceptance scenario/);
});
