import { SCENARIOS } from '../catalog';
import { pointOf } from '../capacity/probe';
import { chartData, kneeRatio, renderCapacityHtml, type CapacityDocument } from '../capacity/report';
import type { SearchResult } from '../capacity/search';
import { capacityExitCode } from '../commands/capacity';
import { HELP, parseCli } from '../commands';
import { withGeneratorCheck } from '../generator-health';
import { variablesFor } from '../pass';
import { planFor } from '../scenario';
import { loadRunFixture } from './helpers/run-fixture';

const spec = (name: string) => SCENARIOS.find((s) => s.name === name)!;

describe('--rate and --hold', () => {
  it('parse into the run options', () => {
    expect(parseCli(['--rate', '2500', '--hold', '7.5'])).toMatchObject({
      command: 'run',
      rate: 2500,
      hold: 7.5,
    });
    expect(parseCli([])).toMatchObject({ rate: undefined, hold: undefined });
  });

  it('--generators parses into the run options (default auto; a bad value is a usage error)', () => {
    expect(parseCli([])).toMatchObject({ generators: 'auto' });
    expect(parseCli(['--generators', 'auto'])).toMatchObject({ generators: 'auto' });
    expect(parseCli(['--generators', '3'])).toMatchObject({ generators: 3 });
    expect(() => parseCli(['--generators', 'two'])).toThrow(/--generators expects auto or an integer/);
  });

  it.each([
    ['--rate', '0'],
    ['--rate', '-5'],
    ['--rate', 'fast'],
    ['--rate', ''],
    ['--hold', '0'],
    ['--hold', '1e9'],
  ])('reject %s %j', (flag, value) => {
    expect(() => parseCli([`${flag}=${value}`])).toThrow(new RegExp(`^${flag} expects`));
  });

  it('apply to throughput-style scenarios only, and change their plan', () => {
    const opts = { rate: 2500, hold: 7 };
    for (const name of ['throughput-100', 'throughput-1000', 'iot-10', 'iot-100', 'stability', 'acceptance'])
      expect(variablesFor(spec(name), opts)).toEqual({ ratePlan: '2500', holdSeconds: 7 });
    for (const name of ['single-endpoint-10', 'multi-endpoint-10x5', 'throughput-ramp'])
      expect(variablesFor(spec(name), opts)).toEqual({});
    expect(variablesFor(spec('throughput-100'), {})).toEqual({});
    expect(variablesFor(spec('throughput-100'), { hold: 3 })).toEqual({ holdSeconds: 3 });

    const plan = planFor(spec('throughput-100'), 'smoke', variablesFor(spec('throughput-100'), opts));
    expect(plan).toMatchObject({
      targetRatePerSec: 2500,
      sendSeconds: 7,
      endpoints: 50,
      connectionsPerEndpoint: 10,
    });
  });

  it('give the IoT scenarios 50 x 10 at 1,000 msg/s and time for the readings check', () => {
    const plain = planFor(spec('throughput-1000'), 'full', { holdSeconds: 20 });
    for (const name of ['iot-10', 'iot-50', 'iot-100']) {
      const plan = planFor(spec(name), 'full', variablesFor(spec(name), { hold: 20 }));
      expect(plan).toMatchObject({ targetRatePerSec: 1000, sendSeconds: 20, connections: 500 });
      // readingsCheckMs (30 s) on top of settle and drain, so the runner's deadline allows for it
      expect(plan.settleAndDrainSeconds).toBe(plain.settleAndDrainSeconds + 30);
    }
  });
});

describe('capacity flags', () => {
  it('default to 50 x 10, SLO 100 ms, 20 s probes after a 10 s ramp, both relays', () => {
    expect(parseCli(['capacity'])).toEqual({
      command: 'capacity',
      endpoints: 50,
      connectionsPerEndpoint: 10,
      sloMs: 100,
      holdSeconds: 20,
      rampSeconds: 10,
      maxRate: 40_000,
      resolution: 250,
      db: undefined,
      statsMode: 'batched',
      reference: true,
      outDir: 'reports',
      runId: undefined,
      relayEntry: 'dist/backend/src/main.js',
      build: true,
      generators: 'auto',
    });
  });

  it('reads every flag', () => {
    expect(
      parseCli([
        'capacity',
        '--endpoints',
        '10',
        '--conns',
        '5',
        '--slo',
        '50',
        '--hold',
        '10',
        '--ramp',
        '3',
        '--max-rate',
        '4000',
        '--resolution',
        '100',
        '--no-reference',
        '--db',
        'mysql://root@127.0.0.1:3306/x',
        '--stats-mode',
        'immediate',
        '--relay-entry',
        'backend/src/main.ts',
        '--out',
        '/tmp/o',
        '--run-id',
        'cap',
        '--generators',
        '2',
      ]),
    ).toEqual({
      command: 'capacity',
      endpoints: 10,
      connectionsPerEndpoint: 5,
      sloMs: 50,
      holdSeconds: 10,
      rampSeconds: 3,
      maxRate: 4000,
      resolution: 100,
      db: 'mysql://root@127.0.0.1:3306/x',
      statsMode: 'immediate',
      reference: false,
      outDir: '/tmp/o',
      runId: 'cap',
      relayEntry: 'backend/src/main.ts',
      build: false,
      generators: 2,
    });
  });

  it.each([
    [['--endpoints', '0'], /--endpoints expects/],
    [['--endpoints', '2.5'], /--endpoints expects/],
    [['--conns', 'x'], /--conns expects/],
    [['--slo=-1'], /--slo expects/],
    [['--max-rate', '0'], /--max-rate expects/],
    [['--resolution', '0'], /--resolution expects/],
    [['--db', 'postgres://x'], /--db must be/],
    [['--run-id', 'a/b'], /--run-id may only/],
    [['--rate', '100'], /Unknown option '--rate'/],
    [['extra'], /unexpected argument "extra"/],
  ])('rejects %j', (args, message) => {
    expect(() => parseCli(['capacity', ...args])).toThrow(message);
  });

  it('is in the help', () => {
    expect(HELP).toContain('pnpm test:performance capacity');
    expect(HELP).toMatch(/--rate <msg\/s>/);
  });
});

describe('capacity points and documents', () => {
  const base = { ...loadRunFixture().scenarios[0], status: 'failed' as const, invalidReasons: [] };

  it('a probe passes on p95 under the SLO with nothing lost, whatever the p99 gate said', () => {
    const p95 = base.latency!.p95;
    expect(pointOf(1000, base, p95 + 1)).toMatchObject({ rate: 1000, pass: true, valid: true, p95 });
    expect(pointOf(1000, base, p95).pass).toBe(false);
    expect(pointOf(1000, { ...base, frames: { ...base.frames, lost: 1 } }, 1e9).pass).toBe(false);
    expect(pointOf(1000, { ...base, frames: { ...base.frames, misrouted: 1 } }, 1e9).pass).toBe(false);
    expect(pointOf(1000, { ...base, vusers: { ...base.vusers, failed: 1 } }, 1e9).pass).toBe(false);
    expect(pointOf(1000, { ...base, latency: null }, 1e9).pass).toBe(false);
  });

  it("carries the machine's steal over the probe, null when the result has none", () => {
    expect(pointOf(1000, { ...base, machineStealPct: 12.5 }, 1e9).machineStealPct).toBe(12.5);
    expect(pointOf(1000, { ...base, machineStealPct: undefined }, 1e9).machineStealPct).toBeNull();
  });

  it('an INVALID or errored probe never passes, and says why', () => {
    const invalid = pointOf(1000, withGeneratorCheck({ ...base, generatorStallMaxMs: 500 }), 1e9);
    expect(invalid).toMatchObject({ pass: false, valid: false });
    expect(invalid.invalidReasons[0]).toMatch(/stalled 500 ms/);
    const error = pointOf(1000, { ...base, status: 'error', error: 'timed out\nmore' }, 1e9);
    expect(error).toMatchObject({ pass: false, error: 'timed out' });
  });

  const search = (knee: number, rates: number[], p95s: number[]): SearchResult => ({
    kneeMsgPerSec: knee,
    firstFailingMsgPerSec: null,
    limitedBy: 'relay',
    curve: rates.map((rate, i) => ({ ...pointOf(rate, base, 1e9), p95: p95s[i], p99: p95s[i] * 2 })),
  });

  it('puts both curves on one rate axis, with gaps where a relay was not probed', () => {
    const doc = {
      settings: { sloMs: 100 },
      relay: search(2000, [1000, 2000], [5, 80]),
      reference: search(4000, [1000, 4000], [3, 20]),
    } as CapacityDocument;
    expect(chartData(doc)).toEqual([
      [1000, 2000, 4000],
      [5, 80, null],
      [10, 160, null],
      [3, null, 20],
      [6, null, 40],
      [100, 100, 100],
    ]);
  });

  it("capacity.html gives every probe's steal, '-' where a point has none (older files)", () => {
    const relay = search(2000, [1000, 2000], [5, 80]);
    relay.curve[0].machineStealPct = 12.5;
    delete relay.curve[1].machineStealPct;
    const html = renderCapacityHtml({
      runId: 'r',
      gitCommit: 'c',
      generatedAt: 'now',
      settings: { sloMs: 100 },
      relay,
      reference: null,
      ratio: null,
    } as CapacityDocument);
    expect(html).toContain('<th>steal %</th>');
    const table = html.split('every probe</h2>')[1].split('</table>')[0];
    // every cell's text, per data row (the header row has no <td>)
    const rows = table
      .split('<tr>')
      .map((row) => [...row.matchAll(/<td\s*>([^<]*)<\/td>/g)].map((m) => m[1].trim()))
      .filter((cells) => cells.length > 0);
    // msg/s, sent/s, delivered/s, p50, p95, p99, lost, generators, steal %
    expect(rows.map((cells) => [cells[0], cells[8]])).toEqual([
      ['1,000', '12.5'],
      ['2,000', '-'],
    ]);
  });

  it('ratio and exit code', () => {
    const relay = search(8000, [], []);
    expect(kneeRatio(relay, search(12_000, [], []))).toBe(0.67);
    expect(kneeRatio(relay, search(0, [], []))).toBeNull();
    expect(kneeRatio(relay, null)).toBeNull();
    expect(capacityExitCode([relay, null])).toBe(0);
    expect(capacityExitCode([relay, { ...relay, limitedBy: 'max-rate' }])).toBe(0);
    expect(capacityExitCode([relay, { ...relay, limitedBy: 'generator' }])).toBe(3);
    expect(
      capacityExitCode([
        { ...relay, limitedBy: 'error' },
        { ...relay, limitedBy: 'generator' },
      ]),
    ).toBe(1);
  });
});
