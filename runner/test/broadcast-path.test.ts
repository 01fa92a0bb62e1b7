import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProfileSummary } from '../cpu-profile';
import { renderDocument, runDocument } from '../report/documents';
import type { RunFile } from '../report/load';
import { carrySections, replaceSection, sectionBody, sectionIds } from '../report/sections';
import { broadcastPathView, EPHEMERAL_PORTS, relayCpuSeconds } from '../report/views/broadcast-path';
import type { ScenarioResult } from '../results';
import { loadRunFixture } from './helpers/run-fixture';

const fixture = loadRunFixture();

const doc = (body: string) =>
  ['# Title', '', 'Above.', '<!-- section:a -->', body, '<!-- /section:a -->', 'Below.', ''].join('\n');

describe('document sections', () => {
  test('replaceSection swaps the body only, markers and the rest kept byte for byte', () => {
    const out = replaceSection(doc('old body'), 'a', 'new\nbody\n');
    expect(out).toBe(doc('new\nbody'));
    expect(sectionBody(out, 'a')).toBe('new\nbody');
    expect(sectionIds(out)).toEqual(['a']);
  });

  test.each([
    ['missing', '# no markers\n'],
    ['duplicated', doc('x') + doc('y')],
    ['closed before opened', '<!-- /section:a -->\n<!-- section:a -->\n'],
  ])('refuses a document whose markers are %s', (_, text) => {
    expect(() => replaceSection(text, 'a', 'x', 'doc.md')).toThrow(/doc\.md/);
  });

  test('carrySections keeps what the previous file rendered into a section the new render has', () => {
    const rendered = doc('placeholder').replace('Above.', 'Above, re-rendered.');
    expect(carrySections(doc('kept'), rendered)).toBe(doc('kept').replace('Above.', 'Above, re-rendered.'));
    // a previous file without the section leaves the placeholder
    expect(carrySections('# old\n', rendered)).toBe(rendered);
  });
});

const profile = (busyMs: number, top: string): ProfileSummary => ({
  durationMs: 60_000,
  busyMs,
  top: [
    { frame: `${top} (x.js:1)`, functionName: top, location: 'x.js:1', selfMs: busyMs / 2, selfPercent: 50 },
  ],
  byArea: [{ area: 'relay code', selfMs: busyMs, selfPercent: 100 }],
});

/** A pass of one scenario: the fixture's first, with these figures. */
function pass(
  runId: string,
  scenario: Partial<ScenarioResult>,
  extra: Partial<RunFile> = {},
  meta: Partial<RunFile['meta']> = {},
): RunFile {
  const base = fixture.scenarios[0];
  return {
    ...fixture,
    ...extra,
    meta: { ...fixture.meta, runId, command: `cmd ${runId}`, statsMode: 'batched', ...meta },
    scenarios: [{ ...base, ...scenario }],
  };
}

const metrics = (deliveries: number, loopMaxMs = 5): ScenarioResult['relayMetrics'] => ({
  framesReceived: deliveries / 9,
  deliveries,
  db: {
    queries: 0,
    avgMs: null,
    p95Ms: null,
    p95MsCapped: false,
    errors: 0,
    statements: 0,
    statementsByVerb: {},
    statementsPer1000Frames: null,
    statsWrites: 0,
    statsWritesPer1000Frames: null,
    operations: [],
  },
  forward: { count: 0, avgMs: null, p95Ms: null, p99Ms: null, p95MsCapped: false, p99MsCapped: false },
  eventLoop: { p99Ms: 2, maxMs: loopMaxMs },
  flushes: [],
  heartbeatTerminations: 0,
  heartbeatSlots: null,
  deviceDataDropped: 0,
  heapUsedMb: { before: 20, after: 22 },
});

const plan = (rate: number, connections = 500) => ({
  ...fixture.scenarios[0].plan,
  targetRatePerSec: rate,
  connections,
});

/** A profile run whose relay used `cpuSeconds` of CPU over the scenario (two 1-s samples after the first). */
function profileRun(
  runId: string,
  relay: string,
  rate: number,
  cpuSeconds: number,
  deliveries: number,
  status: ScenarioResult['status'] = 'invalid',
): RunFile {
  const base = fixture.scenarios[0];
  const half = (cpuSeconds * 100) / 2;
  return pass(
    runId,
    {
      relayMetrics: metrics(deliveries),
      plan: plan(rate),
      status,
      invalidReasons: ['lag'],
      error: status === 'error' ? 'timed out' : undefined,
      resources: { ...base.resources, t: [0, 1, 2], relayCpu: [99, half, half] },
    },
    { cpuProfile: { file: 'CPU.cpuprofile', summary: profile(cpuSeconds * 2000, `top_${runId}`) } },
    { relayEntry: `${relay}/dist/backend/src/main.js`, relayGitCommit: relay },
  );
}

function connectionsRun(peak: number, planned: number, failedVus: number): RunFile {
  const base = fixture.scenarios[0];
  return pass(
    'conn',
    {
      name: 'connections-19k',
      family: 'connections',
      plan: plan(1000, planned),
      peakOpenConnections: peak,
      vusers: { ...base.vusers, failed: failedVus },
      relay: {
        cpuPeakPct: 50,
        cpuMeanPct: 20,
        rssPeakMb: 200 + (peak * 20) / 1024,
        rssMeanMb: 150,
        samples: 10,
      },
      // the first sample is the relay before any connection; nulls before it are skipped
      resources: { ...base.resources, relayRssMb: [null, 200, 300] },
      relayMetrics: metrics(100_000, 38),
    },
    {},
    { relaySettings: { HEARTBEAT_SLOTS: '100' } },
  );
}

describe('the broadcast-path section', () => {
  test('relay CPU seconds: % of a core times each interval, the first sample and gaps left out', () => {
    const resources = {
      ...fixture.scenarios[0].resources,
      t: [0, 1, 3, 4, 5],
      relayCpu: [80, 50, 25, null, 100],
    };
    // 0.5 x 1 s + 0.25 x 2 s; the sample after the gap has no measured interval before it
    expect(relayCpuSeconds({ resources })).toBe(1);
  });

  test('CPU per delivery per run, and the mean per build and planned rate over complete runs, in order', () => {
    const view = broadcastPathView([
      profileRun('old-1', 'c96d686', 5000, 40, 1_000_000),
      profileRun('new-1', 'abc1234', 5000, 20, 1_000_000),
      profileRun('old-2', 'c96d686', 5000, 30, 500_000),
      profileRun('new-2', 'abc1234', 5000, 10, 1_000_000),
      profileRun('new-x', 'abc1234', 5000, 50, 1_000, 'error'),
      profileRun('old-3', 'c96d686', 2500, 8, 400_000),
    ]);
    expect(
      view.profiles.map((p) => [p.runId, p.cpuSeconds, p.usPerDelivery, p.profileUsPerDelivery]),
    ).toEqual([
      ['old-1', 40, 40, 80],
      ['new-1', 20, 20, 40],
      ['old-2', 30, 60, 120],
      ['new-2', 10, 10, 20],
      ['new-x', 50, 50_000, 100_000],
      ['old-3', 8, 20, 40],
    ]);
    expect(view.profiles.find((p) => p.runId === 'new-x')).toMatchObject({
      complete: false,
      reasons: ['timed out'],
    });
    expect(view.relays.map((r) => [r.relay, r.targetRate, r.runs, r.usPerDelivery, r.min, r.max])).toEqual([
      ['c96d686/dist/backend/src/main.js', 5000, 2, 50, 40, 60],
      ['abc1234/dist/backend/src/main.js', 5000, 2, 15, 10, 20],
      ['c96d686/dist/backend/src/main.js', 2500, 1, 20, 20, 20],
    ]);
    expect(view.profiles.map((p) => p.commit)).toEqual([
      'c96d686',
      'abc1234',
      'c96d686',
      'abc1234',
      'abc1234',
      'c96d686',
    ]);
    expect(view.connections).toEqual([]);
  });

  test('connections: KB per connection from the RSS samples, held only when all opened and no VU failed', () => {
    const [held] = broadcastPathView([connectionsRun(19_000, 19_000, 0)]).connections;
    expect(held.rssStartMb).toBe(200);
    expect(held.kbPerConn).toBe(20);
    expect(held.held).toBe(true);
    expect(held.heartbeat).toEqual({ intervalMs: 30_000, slots: 100, slotMs: 300, pingsPerSlot: 190 });
    // 200 MB + 50,000 x 20 KB
    expect(held.plan.rssMb).toBe(Math.round(200 + (50_000 * 20) / 1024));
    expect(held.plan.withinAim).toBe(true);
    expect(held.plan.sourceAddresses).toBe(Math.ceil(50_000 / EPHEMERAL_PORTS));
    expect(held.plan.pingsPerSlot).toBe(500);

    expect(broadcastPathView([connectionsRun(18_990, 19_000, 0)]).connections[0].held).toBe(false);
    expect(broadcastPathView([connectionsRun(19_002, 19_000, 0)]).connections[0].held).toBe(true);
    expect(broadcastPathView([connectionsRun(19_000, 19_000, 3)]).connections[0].held).toBe(false);
  });

  test("heartbeat slots: the relay's gauge first, then HEARTBEAT_SLOTS from the run's settings, else the old default 30", () => {
    const gauged = connectionsRun(19_000, 19_000, 0);
    gauged.scenarios[0].relayMetrics!.heartbeatSlots = 300;
    expect(broadcastPathView([gauged]).connections[0].heartbeat).toMatchObject({
      slots: 300,
      slotMs: 100,
      pingsPerSlot: 64,
    });
    const old = connectionsRun(19_000, 19_000, 0);
    old.meta.relaySettings = {};
    expect(broadcastPathView([old]).connections[0].heartbeat).toMatchObject({
      slots: 30,
      slotMs: 1000,
      pingsPerSlot: 634,
    });
  });

  test('an event-loop window with no samples (max 0 after the processor polled /metrics) is not measured, not 0', () => {
    const run = connectionsRun(19_000, 19_000, 0);
    run.scenarios[0].relayMetrics!.eventLoop = { p99Ms: 0, maxMs: 0 };
    const [row] = broadcastPathView([run]).connections;
    expect([row.eventLoopMaxMs, row.eventLoopP99Ms]).toEqual([null, null]);
    expect(row.kbPerConn).toBe(20); // the rest still stands
  });

  test('runs with neither a profile nor a connections scenario are refused', () => {
    expect(() => broadcastPathView([pass('plain', {})])).toThrow(/CPU profile or a connections scenario/);
  });
});

/** Writes a pass directory as the runner does (run.json; no scrapes, so the saved figures stand). */
function writeRun(dir: string, run: RunFile): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run));
  return dir;
}

describe('render --broadcast-path writes its section of the bottleneck document only', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'relay-broadcast-'));
  const dirs = [
    writeRun(path.join(root, 'old'), profileRun('old-1', 'c96d686', 5000, 40, 1_000_000)),
    writeRun(path.join(root, 'new'), profileRun('new-1', 'abc1234', 5000, 20, 1_000_000)),
    writeRun(path.join(root, 'conn'), connectionsRun(19_000, 19_000, 0)),
  ];

  test('the rest of the file is unchanged; the section has both builds and the plan', () => {
    const out = path.join(root, 'analysis.md');
    writeFileSync(
      out,
      doc('placeholder')
        .replace('section:a', 'section:broadcast-path')
        .replace('/section:a', '/section:broadcast-path'),
    );
    const before = readFileSync(out, 'utf8');
    renderDocument(runDocument('broadcast-path'), dirs, out);
    const after = readFileSync(out, 'utf8');
    expect(after.split('<!-- section:broadcast-path -->')[0]).toBe(
      before.split('<!-- section:broadcast-path -->')[0],
    );
    expect(after.split('<!-- /section:broadcast-path -->')[1]).toBe(
      before.split('<!-- /section:broadcast-path -->')[1],
    );
    const body = sectionBody(after, 'broadcast-path');
    expect(body).toMatch(/\| `c96d686\/dist\/backend\/src\/main\.js` \| 5,000 \| 1 \| \*\*40\*\* \|/);
    expect(body).toMatch(/\| `abc1234\/dist\/backend\/src\/main\.js` \| 5,000 \| 1 \| \*\*20\*\* \|/);
    expect(body).toContain(
      '#### `old-1` (relay `c96d686/dist/backend/src/main.js`): top functions by self time',
    );
    expect(body).toContain('| `top_new-1 (x.js:1)` | 20,000 | 50 |');
    expect(body).toContain('19,000 / 19,000 (all held)');
    expect(body).toContain('**20**'); // KB per connection
    expect(body).toContain('### Plan for 50,000 connections');
  });

  test('re-rendering the whole document (--analysis, from other runs) keeps the rendered section', () => {
    const out = path.join(root, 'whole.md');
    const baseline = writeRun(
      path.join(root, 'baseline'),
      pass('b/immediate', {}, {}, { statsMode: 'immediate' }),
    );
    renderDocument(runDocument('analysis'), [baseline], out);
    expect(sectionBody(readFileSync(out, 'utf8'), 'broadcast-path')).toMatch(/^Not rendered yet/);
    renderDocument(runDocument('broadcast-path'), dirs, out);
    const section = sectionBody(readFileSync(out, 'utf8'), 'broadcast-path');
    expect(section).toContain('19,000 / 19,000 (all held)');
    renderDocument(runDocument('analysis'), [baseline], out);
    const again = readFileSync(out, 'utf8');
    expect(sectionBody(again, 'broadcast-path')).toBe(section);
    expect(again).toContain('| `b/immediate` | sqlite |');
  });

  test('a missing document or one without the markers is refused', () => {
    expect(() => renderDocument(runDocument('broadcast-path'), dirs, path.join(root, 'nope.md'))).toThrow(
      /does not exist/,
    );
    const bare = path.join(root, 'bare.md');
    writeFileSync(bare, '# no section\n');
    expect(() => renderDocument(runDocument('broadcast-path'), dirs, bare)).toThrow(/section:broadcast-path/);
  });

  test('the committed bottleneck document holds the section markers, so the render can find them', () => {
    const committed = readFileSync(
      path.join(__dirname, '../../docs/performance/bottleneck-analysis.md'),
      'utf8',
    );
    expect(sectionIds(committed)).toEqual(['broadcast-path']);
  });
});
