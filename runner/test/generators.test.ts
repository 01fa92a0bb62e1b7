/**
 * --generators K: how a scenario is split over K Artillery processes and how their results are
 * merged (runner/scenario.ts, runner/generator-merge.ts, runner/scenario-result.ts).
 */
import { asInformational, loadSharedGates, type EnsureConfig } from '../gates';
import { gatesOnAggregate, mergeReports, mergeSummaries } from '../generator-merge';
import { generatorsOf } from '../options';
import { COMMON_CONFIG, REPO_ROOT } from '../paths';
import type { ProcSample } from '../proc-sampler';
import type { ArtilleryReport, ScenarioPlan } from '../results';
import { generatorParts, planFor, processorOf, scenarioGenerators, sliceableProcessor } from '../scenario';
import {
  CONNECTIONS_PER_GENERATOR,
  FRAME_EVENTS_PER_GENERATOR,
  RELAY_CORES_RESERVED,
  localRelayCount,
  frameEventsPerSecond,
  generatorsFor,
} from '../generator-count';
import { busiestGenerator, scenarioVerdict, sumSamplesPerSecond } from '../scenario-result';
import { SCENARIOS } from '../catalog';
import path from 'node:path';
import { IOT_COUNTERS } from '../../processors/lib/metric-names';

const GATES: EnsureConfig = loadSharedGates(path.join(REPO_ROOT, COMMON_CONFIG));

const counters = (c: Partial<Record<string, number>>): Record<string, number> => ({
  'e2e.frames_sent': 0,
  'e2e.frames_due': 0,
  'e2e.frames_delivered': 0,
  'e2e.frames_lost': 0,
  'e2e.frames_duplicated': 0,
  'e2e.frames_misrouted': 0,
  'e2e.latency_over_p95_limit': 0,
  'e2e.latency_over_p99_limit': 0,
  'vusers.failed': 0,
  // What WorkerStats announces as 0 in every scenario, so the iot gates hold without readings.
  ...Object.fromEntries(Object.values(IOT_COUNTERS).map((name) => [name, 0])),
  ...(c as Record<string, number>),
});

const summary = (count: number, min: number, max: number, mean: number, p95: number) => ({
  count,
  min,
  max,
  mean,
  p50: mean,
  median: mean,
  p95,
  p99: max,
});

function report(
  c: Record<string, number>,
  periods: [number, Record<string, number>][] = [],
): ArtilleryReport {
  return {
    aggregate: { counters: c, summaries: {} },
    intermediate: periods.map(([period, counters]) => ({ period, counters, summaries: {} })),
  };
}

describe('mergeReports', () => {
  it('adds every counter exactly, in the aggregate and per period', () => {
    const a = report(
      counters({ 'e2e.frames_sent': 1000, 'e2e.frames_delivered': 9000, 'e2e.frames_lost': 2 }),
      [
        [1_700_000_000_000, { 'e2e.frames_sent': 400 }],
        [1_700_000_010_000, { 'e2e.frames_sent': 600 }],
      ],
    );
    const b = report(
      counters({ 'e2e.frames_sent': 999, 'e2e.frames_delivered': 8991, 'vusers.created': 250 }),
      [
        [1_700_000_010_000, { 'e2e.frames_sent': 599 }],
        [1_700_000_020_000, { 'e2e.frames_sent': 400 }],
      ],
    );
    const m = mergeReports([a, b]);
    expect(m.aggregate.counters).toMatchObject({
      'e2e.frames_sent': 1999,
      'e2e.frames_delivered': 17991,
      'e2e.frames_lost': 2,
      'vusers.created': 250,
    });
    expect(m.intermediate.map((p) => [p.period, p.counters?.['e2e.frames_sent']])).toEqual([
      [1_700_000_000_000, 400],
      [1_700_000_010_000, 1199],
      [1_700_000_020_000, 400],
    ]);
  });

  it('merges summaries: count, min, max and mean exactly, percentiles as the largest (an upper bound)', () => {
    const m = mergeSummaries([summary(100, 2, 40, 10, 30), summary(300, 1, 20, 6, 12)]);
    expect(m.count).toBe(400);
    expect(m.min).toBe(1);
    expect(m.max).toBe(40);
    expect(m.mean).toBeCloseTo((100 * 10 + 300 * 6) / 400, 10);
    expect(m.p95).toBe(30);
    // A process without values does not drag min to 0.
    expect(mergeSummaries([summary(0, 0, 0, 0, 0), summary(5, 3, 9, 4, 8)]).min).toBe(3);
  });
});

describe('gatesOnAggregate: the real gates on the merged figures, through ensure', () => {
  it('passes when the merged figures pass although one slice alone would fail its latency gate', () => {
    // Slice 1: 10% of its deliveries over the p95 limit; slice 2: none. Merged: 1000 of 20000 = 5%.
    const s1 = counters({
      'e2e.frames_sent': 1000,
      'e2e.frames_due': 1000,
      'e2e.frames_delivered': 10000,
      'e2e.latency_over_p95_limit': 1000,
    });
    const s2 = counters({ 'e2e.frames_sent': 1000, 'e2e.frames_due': 1000, 'e2e.frames_delivered': 10000 });
    const one = gatesOnAggregate(GATES, mergeReports([report(s1)]).aggregate, false);
    expect(one.find((g) => g.expression.includes('over_p95'))?.passed).toBe(false);
    const merged = gatesOnAggregate(GATES, mergeReports([report(s1), report(s2)]).aggregate, false);
    expect(merged).toHaveLength(GATES.conditions.length + GATES.thresholds.length);
    expect(merged.every((g) => g.passed && g.strict)).toBe(true);
  });

  it('fails the loss gate when any slice lost a frame, and only that gate', () => {
    const ok = counters({ 'e2e.frames_sent': 10, 'e2e.frames_due': 10, 'e2e.frames_delivered': 90 });
    const lost = counters({
      'e2e.frames_sent': 10,
      'e2e.frames_due': 10,
      'e2e.frames_delivered': 89,
      'e2e.frames_lost': 1,
    });
    const g = gatesOnAggregate(GATES, mergeReports([report(ok), report(lost)]).aggregate, false);
    expect(g.filter((x) => !x.passed).map((x) => x.expression)).toEqual(['e2e.frames_lost == 0']);
  });

  it('fails the send-rate gate on the merged send ratio', () => {
    const behind = counters({ 'e2e.frames_sent': 80, 'e2e.frames_due': 100, 'e2e.frames_delivered': 720 });
    const ahead = counters({ 'e2e.frames_sent': 100, 'e2e.frames_due': 100, 'e2e.frames_delivered': 900 });
    // 180 of 200 = 90% < 95%.
    const g = gatesOnAggregate(GATES, mergeReports([report(behind), report(ahead)]).aggregate, false);
    expect(g.filter((x) => !x.passed).map((x) => x.expression)).toEqual([
      'e2e.frames_sent >= 0.95 * e2e.frames_due',
    ]);
  });

  it('gives non-strict verdicts for an informational scenario', () => {
    const g = gatesOnAggregate(GATES, report(counters({ 'e2e.frames_lost': 3 })).aggregate, true);
    expect(g.some((x) => !x.passed)).toBe(true);
    expect(g.every((x) => !x.strict)).toBe(true);
  });

  it('fails a gate that names a metric no process reported, as ensure does in one run', () => {
    const gates: EnsureConfig = { thresholds: [], conditions: [{ expression: 'e2e.no_such_metric == 0' }] };
    const g = gatesOnAggregate(gates, report(counters({})).aggregate, false);
    expect(g).toEqual([{ expression: 'e2e.no_such_metric == 0', passed: false, strict: true }]);
  });

  it('the verdict uses the given gate results instead of parsing the output', () => {
    const gates = gatesOnAggregate(GATES, report(counters({ 'e2e.frames_lost': 1 })).aggregate, false);
    const v = scenarioVerdict({
      informational: false,
      artillery: { exitCode: 0, timedOut: false, output: 'Checks:\nok: e2e.frames_lost == 0\n' },
      reportWritten: true,
      expectedGates: gates.length,
      gates,
    });
    expect(v.status).toBe('failed');
    expect(v.gates.find((x) => x.expression === 'e2e.frames_lost == 0')?.passed).toBe(false);
  });
});

describe('generatorParts: K processes for a scenario', () => {
  const plan: ScenarioPlan = {
    endpoints: 50,
    connectionsPerEndpoint: 10,
    connections: 500,
    steps: [{ ratePerSecond: 5000, seconds: 20 }],
    sendSeconds: 20,
    rampSeconds: 10,
    targetRatePerSec: 5000,
  };
  type Overrides = {
    config: {
      phases: { arrivalCount: number; duration: number }[];
      variables: Record<string, unknown>;
      ensure: EnsureConfig;
      processor?: string;
    };
  };

  it('opens each slice’s connections once, keeps the aggregate plan, runs gates informational, and shares one bundle', () => {
    const parts = generatorParts(plan, 20, GATES, 3, { ratePlan: '5000' }, '/tmp/bundle.js');
    expect(parts.map((p) => p.index)).toEqual([0, 1, 2]);
    const o = parts.map((p) => p.overrides as Overrides);
    expect(o.map((x) => x.config.phases[0].arrivalCount)).toEqual([170, 170, 160]);
    expect(o.reduce((n, x) => n + x.config.phases[0].arrivalCount, 0)).toBe(500);
    for (const [i, x] of o.entries()) {
      expect(x.config.phases[0].duration).toBe(10);
      expect(x.config.variables).toMatchObject({
        ratePlan: '5000',
        holdSeconds: 20,
        generatorIndex: i,
        generatorCount: 3,
      });
      expect(x.config.ensure.conditions).toEqual(asInformational(GATES).conditions);
      expect(x.config.processor).toBe('/tmp/bundle.js');
    }
  });

  it('refuses more processes than endpoints', () => {
    expect(() => generatorParts({ ...plan, endpoints: 2 }, 20, GATES, 3)).toThrow(RangeError);
  });
});

describe('generatorsFor and --generators', () => {
  const plan = (ratePerSecond: number, endpoints = 50, connectionsPerEndpoint = 10) => ({
    steps: [{ ratePerSecond, seconds: 20 }],
    endpoints,
    connectionsPerEndpoint,
  });

  it('a given count: keeps 1, caps at the endpoints, falls back to 1 for a processor that cannot be split', () => {
    expect(generatorsFor(1, plan(8000), true, 8)).toEqual({ generators: 1 });
    expect(generatorsFor(3, plan(1000), true, 2)).toEqual({ generators: 3 });
    expect(generatorsFor(3, plan(1000, 1), true)).toMatchObject({
      generators: 1,
      warning: expect.stringMatching(/--generators 3 capped at 1: each generator owns whole endpoints/),
    });
    expect(generatorsFor(3, plan(1000), false)).toMatchObject({
      generators: 1,
      warning: expect.stringMatching(/--generators 3 ignored: .*cannot be split/),
    });
  });

  it('auto: one generator per FRAME_EVENTS_PER_GENERATOR sends and deliveries a second at the busiest step', () => {
    expect(FRAME_EVENTS_PER_GENERATOR).toBe(60_000);
    // 50 x 10: each frame is 1 send and 9 deliveries, so rate x 10 frame events a second.
    expect(frameEventsPerSecond(plan(1000))).toBe(10_000);
    expect(
      frameEventsPerSecond({
        steps: [
          { ratePerSecond: 500, seconds: 5 },
          { ratePerSecond: 3000, seconds: 5 },
        ],
        connectionsPerEndpoint: 4,
      }),
    ).toBe(12_000);
    expect(generatorsFor('auto', plan(1000), true, 8)).toEqual({ generators: 1 });
    expect(generatorsFor('auto', plan(6000), true, 8)).toEqual({ generators: 1 });
    const two = generatorsFor('auto', plan(6001), true, 8);
    expect(two.generators).toBe(2);
    expect(two.note).toBe(
      'generators: 2, auto: 60,010 sends and deliveries a second at most, one generator per 60,000',
    );
    expect(generatorsFor('auto', plan(8000), true, 8).generators).toBe(2);
    expect(generatorsFor('auto', plan(12_000), true, 8).generators).toBe(2);
    expect(generatorsFor('auto', plan(12_001), true, 8).generators).toBe(3);
    // The busiest step decides, not the mean.
    const ramp = {
      ...plan(0),
      steps: [
        { ratePerSecond: 100, seconds: 60 },
        { ratePerSecond: 13_000, seconds: 1 },
      ],
    };
    expect(generatorsFor('auto', ramp, true, 8).generators).toBe(3);
  });

  it('auto: one generator per CONNECTIONS_PER_GENERATOR connections, whatever the rate (connections-19k gets two)', () => {
    expect(CONNECTIONS_PER_GENERATOR).toBe(10_000);
    expect(generatorsFor('auto', plan(100, 1000, 10), true, 8)).toEqual({ generators: 1 });
    const big = generatorsFor('auto', plan(1000, 1900, 10), true, 8);
    expect(big.generators).toBe(2);
    expect(big.note).toBe('generators: 2, auto: 19,000 connections, one generator per 10,000');
    expect(generatorsFor('auto', plan(0, 3001, 10), true, 8).generators).toBe(4);
    const c19k = SCENARIOS.find((s) => s.name === 'connections-19k')!;
    expect(generatorsFor('auto', planFor(c19k, 'full'), true, 2).generators).toBe(2);
    // Capped at one per core, the note still says what was wanted.
    expect(generatorsFor('auto', plan(1000, 1900, 10), true, 1)).toEqual({
      generators: 1,
      note: 'generators: 1, auto: 19,000 connections, one generator per 10,000 (2 wanted, capped at 1: at most one per core, and whole endpoints each)',
    });
  });

  it('auto: at most one per core and one per endpoint; 1 for a processor that cannot be split or a plan without sends', () => {
    const capped = generatorsFor('auto', plan(13_000), true, 2);
    expect(capped.generators).toBe(2);
    expect(capped.warning).toBeUndefined();
    expect(capped.note).toMatch(/\(3 wanted, capped at 2: at most one per core, and whole endpoints each\)$/);
    expect(generatorsFor('auto', plan(13_000, 2), true, 8).generators).toBe(2);
    expect(generatorsFor('auto', plan(10_000), true, 1)).toMatchObject({ generators: 1 });
    expect(generatorsFor('auto', plan(10_000), false, 8)).toEqual({ generators: 1 });
    expect(generatorsFor('auto', plan(0), true, 8)).toEqual({ generators: 1 });
  });

  it('auto: a relay on this machine keeps a core from the frame-rate count, never from the connection count', () => {
    expect(RELAY_CORES_RESERVED).toBe(1);
    // 8,000 msg/s on 50 x 10 wants two by frame rate: on two cores beside one relay, one.
    const beside = generatorsFor('auto', plan(8000), true, 2, 1);
    expect(beside.generators).toBe(1);
    expect(beside.note).toBe(
      'generators: 1, auto: 80,000 sends and deliveries a second at most, one generator per 60,000 (2 wanted, capped at 1: the frame-rate count held to 1 of 2 cores for 1 relay process on this machine)',
    );
    // A relay elsewhere, or enough cores, leaves the count as it was.
    expect(generatorsFor('auto', plan(8000), true, 2, 0).generators).toBe(2);
    expect(generatorsFor('auto', plan(8000), true, 4, 1).generators).toBe(2);
    expect(generatorsFor('auto', plan(13_000), true, 4, 1).generators).toBe(3);
    // A cluster of three on four cores leaves one; past the cores, still one.
    expect(generatorsFor('auto', plan(13_000), true, 4, 3).generators).toBe(1);
    expect(generatorsFor('auto', plan(13_000), true, 2, 4)).toMatchObject({
      generators: 1,
      note: expect.stringMatching(
        /\(3 wanted, capped at 1: the frame-rate count held to 1 of 2 cores for 4 relay processes on this machine\)$/,
      ),
    });
    // Connections ask for 3, frames for 4 held to 2: three run, and the note says what was held.
    expect(generatorsFor('auto', plan(20_000, 2500, 10), true, 4, 2)).toMatchObject({
      generators: 3,
      note: expect.stringMatching(
        /\(4 wanted, capped at 3: the frame-rate count held to 2 of 4 cores for 2 relay processes/,
      ),
    });
    // Connections: 19,000 cannot be held by one process whatever the relay needs.
    const c19k = SCENARIOS.find((s) => s.name === 'connections-19k')!;
    expect(generatorsFor('auto', planFor(c19k, 'full'), true, 2, 1).generators).toBe(2);
    expect(generatorsFor('auto', plan(13_000, 1900, 10), true, 3, 1).generators).toBe(2);
    // A count given by hand is kept.
    expect(generatorsFor(2, plan(8000), true, 2, 1)).toEqual({ generators: 2 });
  });

  it("scenarioGenerators: the run's relay pids, or a loopback target without them, keep a core on two cores", () => {
    const spec = SCENARIOS.find((s) => s.name === 'throughput-1000')!;
    // 8,000 msg/s on 50 x 10: 80,000 sends and deliveries a second, two generators wanted.
    const plan = planFor(spec, 'quick', { ratePlan: '8000' });
    const count = (relayPids: number[], target: string, generators?: 'auto' | number) =>
      scenarioGenerators({ spec, relayPids, target, generators }, plan, 2).generators;
    // The runner's own relay (or --relay-pid) on this machine: one generator.
    expect(count([4242], 'ws://127.0.0.1:8080')).toBe(1);
    expect(count([4242], 'ws://10.0.0.5:8080')).toBe(1);
    // --target on a loopback address without a pid is still a relay here.
    expect(count([], 'ws://localhost:8080')).toBe(1);
    // A relay elsewhere leaves both cores to the generators.
    expect(count([], 'ws://relay.example:8080')).toBe(2);
    // --generators K is kept as given.
    expect(count([4242], 'ws://127.0.0.1:8080', 2)).toBe(2);
    expect(
      scenarioGenerators({ spec, relayPids: [4242], target: 'ws://127.0.0.1:8080' }, plan, 2).note,
    ).toMatch(/capped at 1: the frame-rate count held to 1 of 2 cores for 1 relay process on this machine/);
  });

  it('localRelayCount: the relay pids sampled, and at least one for a loopback target', () => {
    expect(localRelayCount([], 'ws://relay.example:8080')).toBe(0);
    expect(localRelayCount([], 'http://10.0.0.5:8080')).toBe(0);
    expect(localRelayCount([4242], 'http://10.0.0.5:8080')).toBe(1);
    for (const t of ['http://127.0.0.1:8080', 'ws://127.3.4.5:1', 'http://localhost:80', 'ws://[::1]:8080'])
      expect(localRelayCount([], t)).toBe(1);
    expect(localRelayCount([1, 2, 3], 'http://127.0.0.1:8080')).toBe(3);
    expect(localRelayCount([], 'not a url')).toBe(0);
    expect(localRelayCount([7], 'not a url')).toBe(1);
    // 127.x only as a whole address: a name that starts with it is not the loopback.
    expect(localRelayCount([], 'http://127.0.0.1.example.com:80')).toBe(0);
  });

  it('knows which scenario files use a splittable processor: relay.ts and connections.ts', () => {
    const byName = (n: string) => SCENARIOS.find((s) => s.name === n)!;
    expect(sliceableProcessor(byName('throughput-1000'))).toBe(
      path.join(REPO_ROOT, 'processors', 'relay.ts'),
    );
    for (const n of ['churn', 'reconnect-storm', 'connections-5k', 'connections-19k'])
      expect(sliceableProcessor(byName(n))).toBe(path.join(REPO_ROOT, 'processors', 'connections.ts'));
    // Every scenario of the pack can be split; the fallback to one process stays for other files.
    for (const s of SCENARIOS) expect(sliceableProcessor(s)).not.toBeNull();
  });

  it("reads any scenario's processor as an absolute path (what the runner bundles)", () => {
    for (const s of SCENARIOS) expect(processorOf(s)).toBe(sliceableProcessor(s));
    const relay = SCENARIOS.find((s) => s.name === 'throughput-1000')!;
    expect(processorOf(relay)).toBe(path.join(REPO_ROOT, 'processors', 'relay.ts'));
  });

  it('parses --generators: auto when absent or auto, else an integer in [1, 64]', () => {
    expect(generatorsOf(undefined)).toBe('auto');
    expect(generatorsOf('auto')).toBe('auto');
    expect(generatorsOf('1')).toBe(1);
    expect(generatorsOf('3')).toBe(3);
    expect(generatorsOf('64')).toBe(64);
    for (const bad of ['0', '-1', '1.5', 'x', '', '65', 'AUTO'])
      expect(() => generatorsOf(bad)).toThrow(/--generators expects auto or an integer in \[1, 64\]/);
  });
});

describe('generator samples of several processes', () => {
  const s = (t: number, cpuPct: number, rssMb = 100): ProcSample => ({ t, cpuPct, rssMb });

  it('the check sees the busiest process; the series their per-second sum', () => {
    const a = [s(1000, 40), s(2000, 60)];
    const b = [s(1100, 90), s(2100, 80)];
    expect(busiestGenerator([a, b])?.cpuMeanPct).toBe(85);
    expect(sumSamplesPerSecond([a, b])).toEqual([s(1000, 130, 200), s(2000, 140, 200)]);
    expect(sumSamplesPerSecond([a])).toBe(a);
    expect(busiestGenerator([[]])).toBeNull();
  });

  it('the busiest is the one with the highest mean CPU wherever it is in the list; a tie keeps the first', () => {
    const busy = [s(1000, 90, 300)];
    const idle = [s(1000, 10, 50)];
    expect(busiestGenerator([busy, idle])?.cpuMeanPct).toBe(90);
    expect(busiestGenerator([idle, busy])?.cpuMeanPct).toBe(90);
    expect(busiestGenerator([[], idle])?.cpuMeanPct).toBe(10);
    // same CPU, different memory: the first process's summary is reported
    expect(busiestGenerator([[s(1000, 50, 111)], [s(1000, 50, 222)]])?.rssPeakMb).toBe(111);
  });

  it('per-second sums come out in time order whichever process sampled a second first', () => {
    const late = [s(3000, 10), s(4000, 10)];
    const early = [s(1000, 20), s(3500, 20)];
    expect(sumSamplesPerSecond([late, early]).map((x) => x.t)).toEqual([1000, 3000, 4000]);
  });
});
