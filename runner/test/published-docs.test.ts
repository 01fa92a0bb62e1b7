import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProfileSummary } from '../cpu-profile';
import { PUBLISHED_DOCUMENTS, renderDocument, runDocument } from '../report/documents';
import { REPO_ROOT } from '../paths';
import { relaySettingsFrom } from '../metadata';
import { fixture, writePass } from './helpers/run-dirs';

/** What `render --<flag>` does, into `out` instead of the committed path. */
const renderDoc = (flag: string, runDirs: string[], out: string) =>
  renderDocument(runDocument(flag), runDirs, out);

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

/** Prose without measurements: the index and the distributed-generator plan. */
const HAND_WRITTEN = ['README.md', 'distributed-generator.md'];

test('every document under docs/performance/ is registered, so `render` can rewrite it from runs', () => {
  const dir = path.join(REPO_ROOT, 'docs', 'performance');
  const onDisk = readdirSync(dir)
    .filter((f) => f.endsWith('.md') && !HAND_WRITTEN.includes(f))
    .map((f) => `docs/performance/${f}`);
  // One whole-document renderer per file; a section renderer writes into a file one of them owns.
  const whole = PUBLISHED_DOCUMENTS.filter((d) => !d.section).map((d) => d.path);
  expect(new Set(whole).size).toBe(whole.length);
  for (const d of PUBLISHED_DOCUMENTS.filter((x) => x.section)) expect(whole).toContain(d.path);
  const registered = PUBLISHED_DOCUMENTS.map((d) => d.path);
  for (const file of onDisk) expect(registered).toContain(file);
  for (const d of PUBLISHED_DOCUMENTS)
    expect(existsSync(path.join(REPO_ROOT, 'templates', d.template))).toBe(true);
  expect(registered).toContain('docs/performance/optimization-summary.md');
});
