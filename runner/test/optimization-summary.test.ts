import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kneeRatio, type CapacityDocument } from '../capacity/report';
import { searchCapacity, type ProbePoint } from '../capacity/search';
import { render } from '../commands/render';
import { parseCli } from '../commands';
import { renderDocument, SUMMARY_DOCUMENT } from '../report/documents';
import { NOT_MEASURED, type SummaryInputs } from '../report/views/summary';
import type { ScenarioResult } from '../results';
import { fixture, writePass } from './helpers/run-dirs';

const root = mkdtempSync(path.join(tmpdir(), 'relay-summary-'));
const GENERATED = '2026-01-01T12:00:00.000Z';

/** The fixture's first scenario (50 x 10) as another scenario, with its figures changed. */
function scenario(over: Partial<ScenarioResult>): ScenarioResult {
  return {
    ...(JSON.parse(JSON.stringify(fixture.scenarios[0])) as ScenarioResult),
    status: 'passed',
    ...over,
  };
}

const latency = (p95: number) => ({
  count: 1000,
  min: 0.1,
  p50: p95 / 2,
  p95,
  p99: p95 * 2,
  max: p95 * 3,
  mean: p95 / 2,
});
const relay = (peak: number, mean: number) => ({
  cpuPeakPct: peak,
  cpuMeanPct: mean,
  rssPeakMb: 150,
  rssMeanMb: 140,
  samples: 30,
});

// A --mode both run: the legacy pass at 40 ms p95 and 90 % CPU, the batched one at 2 ms and 30 %;
// the batched pass also held 5,000 sockets in a connections scenario.
const both = path.join(root, 'both');
writePass(
  path.join(both, 'immediate'),
  'immediate',
  {
    scenarios: [
      scenario({ name: 'throughput-1000', sentPerSec: 1000, latency: latency(40), relay: relay(90, 60) }),
    ],
  },
  { runId: 'cmp/immediate', command: 'pnpm test:performance --mode both --run-id cmp' },
);
writePass(
  path.join(both, 'batched'),
  'batched',
  {
    scenarios: [
      scenario({
        name: 'throughput-1000',
        sentPerSec: 1000,
        deliveredPerSec: 9000,
        latency: latency(2),
        relay: relay(30, 12),
      }),
      scenario({
        name: 'connections-5k',
        family: 'connections',
        plan: { ...fixture.scenarios[0].plan, endpoints: 500, connectionsPerEndpoint: 10, connections: 5000 },
        peakOpenConnections: 5000,
        status: 'invalid',
        invalidReasons: ['send lag p99 900 ms'],
      }),
    ],
  },
  { runId: 'cmp/batched', command: 'pnpm test:performance --mode both --run-id cmp' },
);

/** Once-a-second samples over `seconds` of sending at 500 msg/s, RSS from `rss(i)`. */
function longResources(seconds: number, rss: (i: number) => number): ScenarioResult['resources'] {
  const t = Array.from({ length: seconds + 20 }, (_, i) => i);
  return {
    start: 0,
    t,
    relayCpu: t.map(() => 20),
    relayRssMb: t.map(rss),
    generatorCpu: t.map(() => 10),
    generatorStallMs: t.map(() => 0),
    sentPerSec: t.map((i) => (i >= 10 && i < 10 + seconds ? 500 : 0)),
  };
}

/** An acceptance run of `seconds` whose RSS goes from 180 MB up by `growMb` over the window. */
function writeAcceptance(
  dir: string,
  seconds: number,
  growMb: number,
  status: ScenarioResult['status'] = 'passed',
) {
  writePass(
    dir,
    'batched',
    {
      scenarios: [
        scenario({
          name: 'acceptance',
          family: 'acceptance',
          status,
          sentPerSec: 500,
          latency: latency(0.7),
          relay: relay(19, 8),
          resources: longResources(seconds, (i) => 180 + (growMb * i) / seconds),
        }),
      ],
    },
    { runId: 'acc', command: 'pnpm test:performance --profile full --only acceptance --run-id acc' },
  );
}
const acceptance = path.join(root, 'acc');
writeAcceptance(acceptance, 3600, 2);

/** capacity.json as the capacity command writes it, from the real search over fake probes. */
async function writeCapacity(dir: string, error?: string): Promise<void> {
  const probe =
    (knee: number) =>
    async (rate: number): Promise<ProbePoint> => {
      const pass = error === undefined && rate <= knee;
      return {
        rate,
        sentPerSec: rate,
        deliveredPerSec: rate * 9,
        p50: 1,
        p95: pass ? 20 : 400,
        p99: pass ? 40 : 900,
        lost: 0,
        valid: true,
        invalidReasons: [],
        ...(error === undefined ? {} : { error }),
        pass,
      };
    };
  const settings = { maxRate: 40000, resolution: 250 };
  const relaySearch = await searchCapacity(probe(3000), settings);
  const reference = await searchCapacity(probe(9000), settings);
  const doc: CapacityDocument = {
    runId: 'cap',
    gitCommit: '0123456789ab',
    generatedAt: GENERATED,
    settings: {
      endpoints: 50,
      connectionsPerEndpoint: 10,
      sloMs: 100,
      holdSeconds: 15,
      ...settings,
      statsMode: 'batched',
      database: 'sqlite',
    },
    relay: relaySearch,
    reference,
    ratio: kneeRatio(relaySearch, reference),
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'capacity.json'), JSON.stringify(doc));
}
const capacity = path.join(root, 'cap');

function summary(inputs: Partial<SummaryInputs>): string {
  const out = path.join(root, `summary-${Math.random().toString(36).slice(2)}.md`);
  renderDocument(
    SUMMARY_DOCUMENT,
    { comparison: [], capacity: null, acceptance: null, cluster: null, ...inputs },
    out,
  );
  return readFileSync(out, 'utf8');
}

/** The cells of the criteria table's row that starts with `criterion`. */
function criteriaRow(md: string, criterion: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${criterion} |`));
  if (!line) throw new Error(`no row ${criterion}`);
  return line
    .split(' | ')
    .slice(2)
    .map((c) => c.replace(/ \|$/, ''));
}

beforeAll(() => writeCapacity(capacity));

describe('optimization summary from every input', () => {
  let md: string;
  beforeAll(() => {
    md = summary({ comparison: [both], acceptance, capacity });
  });

  it('lists its inputs with the commands that made them', () => {
    expect(md).toContain('| `--comparison` | `');
    expect(md).toContain('`pnpm test:performance --mode both --run-id cmp`');
    expect(md).toContain('`pnpm test:performance --profile full --only acceptance --run-id acc`');
    expect(md).toContain(
      'capacity --endpoints 50 --conns 10 --hold 15 (sqlite, STATS_MODE=batched, git 0123456789ab)',
    );
    // the cluster was the one input not given
    expect(md).toMatch(/\| `--cluster` \| \*\*not given\*\* \|/);
    expect(md).toContain('Not given for this rendering: `--cluster`');
  });

  it('puts the measured value beside each floor, per run, with its verdict', () => {
    // columns: acceptance, the comparison's batched pass, capacity
    expect(criteriaRow(md, 'WebSocket latency p95')).toEqual(['**met**: 0.7 ms', '**met**: 2 ms', 'n/a']);
    expect(criteriaRow(md, 'message throughput')).toEqual([
      // the floor is strict: 500 msg/s in is not more than 500
      '**NOT MET**: 500 msg/s in, 900 delivered/s',
      '**met**: 1,000 msg/s in, 9,000 delivered/s',
      '**met**: knee 3,000 msg/s in (p95 < 100 ms, nothing lost)',
    ]);
    expect(criteriaRow(md, 'relay CPU at peak load (% of one core)')).toEqual([
      '**met**: 19 % peak, 8 % mean',
      '**met**: 30 % peak, 12 % mean',
      'n/a',
    ]);
    // DB mean from the /metrics scrapes: the acceptance scrape (batched) has no Prisma operation
    expect(criteriaRow(md, 'database operation time, mean')[0]).toBe(
      '*not measured*: no database operation recorded',
    );
    expect(criteriaRow(md, '50+ endpoints x 10 connections each')[0]).toBe(
      '**met**: 50 x 10 (500 open), 0 lost, 0 failed VUs',
    );
  });

  it('judges the leak from the acceptance run only: the quick comparison is too short', () => {
    const [acc, quick] = criteriaRow(md, '1 h without crash or memory leak');
    expect(acc).toMatch(/^\*\*met\*\*: 60 min, passed; RSS first\/last tenth 180 \/ 182 MB/);
    expect(quick).toMatch(/^\*not measured\*: send window .* under 1 h$/);
  });

  it('computes the before/after criteria from the two passes', () => {
    // 3,000 frames per scenario: immediate one stats write each, batched 30 flushes
    expect(criteriaRow(md, 'stats database writes, batched vs legacy (Story 9.2)')).toEqual([
      'n/a',
      '**met**: 3,000 -> 60 stats writes for 3,000 / 6,000 frames (99 % fewer per frame)',
      'n/a',
    ]);
    expect(criteriaRow(md, 'optimized vs legacy, p95 at throughput-1000 (Story 9.2)')[1]).toBe(
      '**met**: p95 40 -> 2 ms (95 % lower)',
    );
    expect(md).toContain('| 1 | stats writes per 1,000 frames (all scenarios) | 1,000 | 10 | 99 % |');
    expect(md).toContain('| 2 | relay CPU, mean % of one core (throughput-1000) | 60 | 12 | 80 % |');
  });

  it('shows the knees, the connection scenarios and what remains open', () => {
    expect(md).toContain('| project relay | 3,000 | 3,250 | relay |');
    expect(md).toContain('| reference relay | 9,000 | 9,250 | relay |');
    expect(md).toContain('Relay knee / reference knee: **0.33**');
    expect(md).toMatch(/\| `cmp\/batched` \| connections-5k \| 5,000 \| 5,000 \|.*\| INVALID \|/);
    expect(md).toContain(
      '- `cmp/batched`: INVALID (the load generator fell behind its plan, so latency measures it as much as the relay): connections-5k',
    );
    expect(md).toContain('no run against a cluster was given (`--cluster`)');
  });

  it('never prints undefined, NaN or [object Object]', () => {
    expect(md).not.toMatch(/undefined|NaN|\[object Object\]/);
  });
});

describe('optimization summary with inputs missing', () => {
  it('marks every criterion of a missing input as not measured instead of inventing it', () => {
    const md = summary({ comparison: [both] });
    expect(md).toMatch(/\| `--acceptance` \| \*\*not given\*\* \|/);
    expect(md).toMatch(/\| `--capacity` \| \*\*not given\*\* \|/);
    const p95 = criteriaRow(md, 'WebSocket latency p95');
    expect(p95[0]).toBe(`*not measured*: ${NOT_MEASURED}`);
    expect(p95[2]).toBe(`*not measured*: ${NOT_MEASURED}`);
    expect(criteriaRow(md, '1 h without crash or memory leak')[0]).toBe(`*not measured*: ${NOT_MEASURED}`);
    expect(md).toContain(`${NOT_MEASURED}: no acceptance run directory was given`);
    expect(md).toContain(`${NOT_MEASURED}: no capacity run directory was given`);
    // a criterion no given run answers is listed as open
    expect(md).toContain(`- 1 h without crash or memory leak: ${NOT_MEASURED}`);
    expect(md).not.toMatch(/undefined|NaN|\[object Object\]/);
  });

  it('keeps a comparison column, empty, when no comparison was given', () => {
    const md = summary({ capacity });
    expect(md).toContain('| --mode both comparison (throughput-1000) |');
    expect(criteriaRow(md, 'stats database writes, batched vs legacy (Story 9.2)')).toEqual([
      'n/a',
      `*not measured*: ${NOT_MEASURED}`,
      'n/a',
    ]);
    expect(md).toContain(`${NOT_MEASURED}: no \`--mode both\` run was given`);
    expect(md).toContain('| project relay | 3,000 |');
  });

  it('fails the leak criterion when RSS keeps growing or the run did not pass', () => {
    const growing = path.join(root, 'acc-growing');
    writeAcceptance(growing, 3600, 60);
    expect(criteriaRow(summary({ acceptance: growing }), '1 h without crash or memory leak')[0]).toMatch(
      /^\*\*NOT MET\*\*/,
    );
    const failed = path.join(root, 'acc-failed');
    writeAcceptance(failed, 3600, 0, 'failed');
    expect(criteriaRow(summary({ acceptance: failed }), '1 h without crash or memory leak')[0]).toMatch(
      /^\*\*NOT MET\*\*: 60 min, failed/,
    );
  });
});

test('a 50 x 10 scenario that did not pass says why in every cell, and too few open sockets do not count as held', () => {
  const dir = path.join(root, 'both-invalid');
  writePass(path.join(dir, 'immediate'), 'immediate', {
    scenarios: [scenario({ name: 'throughput-1000', latency: latency(40) })],
  });
  writePass(path.join(dir, 'batched'), 'batched', {
    scenarios: [
      scenario({
        name: 'throughput-1000',
        latency: latency(30),
        peakOpenConnections: 96,
        status: 'invalid',
        invalidReasons: ['send lag'],
      }),
    ],
  });
  const md = summary({ comparison: [dir] });
  const [, p95] = criteriaRow(md, 'WebSocket latency p95');
  expect(p95).toBe(
    '**met**: 30 ms; scenario INVALID: the load generator fell behind, so this measures it as much as the relay',
  );
  expect(criteriaRow(md, '50+ endpoints x 10 connections each')[1]).toMatch(
    /^\*\*NOT MET\*\*: 50 x 10 \(96 open\), 0 lost/,
  );
});

test('a capacity search that ended on probe errors measured no knee, and says so', async () => {
  const dir = path.join(root, 'cap-error');
  await writeCapacity(dir, 'timed out: Artillery was killed after its deadline');
  const md = summary({ capacity: dir });
  expect(criteriaRow(md, 'message throughput')[2]).toBe(
    '*not measured*: the search ended on a probe error: timed out: Artillery was killed after its deadline',
  );
  expect(md).toContain(
    "Probe errors of the project relay's search: `timed out: Artillery was killed after its deadline`",
  );
  expect(md).toContain('| project relay | 0 | 250 | error |');
});

describe('inputs that are not what their flag says are refused', () => {
  it('a comparison without both passes, an acceptance run without the scenario, capacity without capacity.json', () => {
    const single = path.join(root, 'single');
    writePass(single, 'batched');
    expect(() => summary({ comparison: [single] })).toThrow(/not a --mode both run/);
    expect(() => summary({ acceptance: single })).toThrow(/no run of the acceptance scenario/);
    expect(() => summary({ capacity: single })).toThrow(/holds no capacity.json/);
  });

  it('render summary takes its inputs by flag and needs at least one', () => {
    expect(
      parseCli(['render', 'summary', '--comparison', 'a', '--comparison', 'b', '--capacity', 'c']),
    ).toEqual({
      command: 'render',
      runDirs: [],
      documents: [],
      summary: { comparison: ['a', 'b'], capacity: 'c', acceptance: null, cluster: null, out: null },
    });
    expect(() => parseCli(['render', 'summary'])).toThrow(/at least one of --comparison/);
    expect(() => parseCli(['render', 'summary', 'reports/x'])).toThrow(/by flag/);
    expect(() => parseCli(['render', 'summary', '--bogus', 'x'])).toThrow(/Unknown option '--bogus'/);
  });

  it('render summary refuses a run directory that does not exist', async () => {
    await expect(
      render.execute(
        {
          command: 'render',
          runDirs: [],
          documents: [],
          summary: {
            comparison: [path.join(root, 'nope')],
            capacity: null,
            acceptance: null,
            cluster: null,
            out: path.join(root, 'x.md'),
          },
        },
        [],
      ),
    ).rejects.toThrow(/no such run directory/);
  });
});

test('render re-renders a --mode both run: each pass, comparison.md and comparison.html', async () => {
  const files = ['comparison.md', 'comparison.html', 'immediate/report.md', 'batched/report.html'].map((f) =>
    path.join(both, f),
  );
  for (const f of files) rmSync(f, { force: true });
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    expect(await render.execute({ command: 'render', runDirs: [both], documents: [] }, [])).toBe(0);
  } finally {
    log.mockRestore();
  }
  for (const f of files) expect(existsSync(f)).toBe(true);
  const md = readFileSync(path.join(both, 'comparison.md'), 'utf8');
  // immediate first, whatever order the directory lists the passes in
  expect(md).toContain('STATS_MODE=immediate vs batched');
  expect(readFileSync(path.join(both, 'comparison.html'), 'utf8')).toContain('throughput-1000');
});

describe('optimization summary from a --cluster N run', () => {
  it('shows the process count and the local / across-Redis p95 the run recorded', () => {
    const dir = path.join(root, 'cluster2');
    const [first] = fixture.scenarios;
    const lat = (p95: number) => ({ ...first.latency, p95 });
    writePass(
      dir,
      'batched',
      {
        scenarios: [
          {
            ...first,
            cluster: { processes: 2, local: lat(26.2), cross: lat(32.5), perProcess: [] },
          } as ScenarioResult,
        ],
      },
      { command: 'pnpm test:performance --only throughput-1000 --cluster 2' },
    );
    const md = summary({ cluster: dir });
    const row = md.split('\n').find((l) => l.startsWith(`| ${first.name} | 2 |`));
    expect(row).toBeDefined();
    expect(row).toContain('| 26.2 / 32.5 |');
    expect(md).toContain('`pnpm test:performance --only throughput-1000 --cluster 2`');
  });
});
