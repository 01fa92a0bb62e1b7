/**
 * scenarioVerdict's and buildScenarioResult's edges: the exact error texts, the fields
 * copied from the report and the samplers, and the bucket boundaries of the latency series.
 */
import { encodeHistogram, newHistogram, recordMs } from '../../processors/lib/latency';
import { COUNTERS } from '../../processors/lib/metric-names';
import type { ScenarioSpec } from '../catalog';
import type { ArtilleryReport, ScenarioPlan } from '../results';
import { bucketLatency, buildScenarioResult, scenarioVerdict, type BuildInput } from '../scenario-result';
import { artillery, checks } from './helpers/artillery-output';

const spec: ScenarioSpec = {
  name: 'multi-endpoint',
  family: 'multi-endpoint',
  file: 'multi-endpoint.yml',
  summary: '10 x 2',
  profiles: {},
};
const plan: ScenarioPlan = {
  endpoints: 10,
  connectionsPerEndpoint: 2,
  connections: 20,
  steps: [{ ratePerSecond: 20, seconds: 10 }],
  sendSeconds: 10,
  rampSeconds: 2,
  targetRatePerSec: 20,
};

function report(counts: Partial<Record<keyof typeof COUNTERS, number>>, extra: Record<string, number> = {}) {
  const counters: Record<string, number> = { 'vusers.created': 20, 'vusers.completed': 20, ...extra };
  for (const [k, v] of Object.entries(counts)) counters[COUNTERS[k as keyof typeof COUNTERS]] = v;
  return { aggregate: { counters, summaries: {} }, intermediate: [] } as ArtilleryReport;
}

const build = (over: Partial<BuildInput>) =>
  buildScenarioResult({
    spec,
    plan,
    report: report({ sent: 200, due: 200, expected: 200, delivered: 200 }),
    artillery: artillery(0, checks(['ok', 'ok', 'ok', 'ok'])),
    expectedGates: 4,
    durationSec: 14,
    relaySamples: [],
    generatorSamples: [],
    seconds: [],
    latency: null,
    intervals: [],
    ...over,
  });

describe('scenarioVerdict error texts', () => {
  const verdict = (over: Partial<Parameters<typeof scenarioVerdict>[0]>) =>
    scenarioVerdict({
      informational: false,
      artillery: artillery(0, checks(['ok', 'ok', 'ok', 'ok'])),
      reportWritten: true,
      expectedGates: 4,
      ...over,
    });

  it("quotes only Artillery's last 8 lines, trimmed", () => {
    const lines = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    const v = verdict({ artillery: artillery(1, `\n\n${lines.join('\n')}\n  \n`), reportWritten: false });
    expect(v).toEqual({
      status: 'error',
      error: `Artillery exited with 1:\n${lines.slice(-8).join('\n')}`,
      gates: [],
      warnings: [],
    });
  });

  it("quotes an uncaught error's message, not its stack frames or Node's version footer", () => {
    // What Artillery printed when the processor threw while loading (RELAY_PERF_OTHER_THREADS_NICE=abc).
    const output = [
      'Test run id: t9jn3',
      'Bundled Typescript file into JS. New processor path: /work/main/processors/dist/relay.js',
      '/work/main/processors/dist/relay.js:8663',
      '    throw new Error(`RELAY_PERF_OTHER_THREADS_NICE must be an integer 0-19 (0: off), got "${raw}"`);',
      '          ^',
      '',
      'Error: RELAY_PERF_OTHER_THREADS_NICE must be an integer 0-19 (0: off), got "abc"',
      ...Array.from(
        { length: 10 },
        (_, i) => `    at frame${i} (/work/main/processors/dist/relay.js:${i}:1)`,
      ),
      '',
      'Node.js v20.20.2',
      '',
    ].join('\n');
    const v = verdict({ artillery: artillery(1, output), reportWritten: false });
    expect(v.error).toBe(`Artillery exited with 1:\n${output.split('\n').slice(0, 7).join('\n')}`);
    expect(v.error).toContain(
      'Error: RELAY_PERF_OTHER_THREADS_NICE must be an integer 0-19 (0: off), got "abc"',
    );
    expect(v.error).not.toMatch(/\bat frame|Node\.js v/);
  });

  it('keeps a line that merely contains " at " or "Node.js v.." in prose', () => {
    const output =
      'YAMLException: bad indentation at line 4\nNode.js is required\nneeds Node.js v22\n  at the top';
    expect(verdict({ artillery: artillery(2, output), reportWritten: false }).error).toBe(
      'Artillery exited with 2:\nYAMLException: bad indentation at line 4\nNode.js is required\nneeds Node.js v22',
    );
  });

  it('gives the bare exit code when Artillery printed nothing', () => {
    expect(verdict({ artillery: artillery(3, ' \n '), reportWritten: false }).error).toBe(
      'Artillery exited with 3',
    );
  });

  it('names a missing start reason generically', () => {
    expect(verdict({ artillery: null })).toEqual({
      status: 'error',
      error: 'Artillery did not run',
      gates: [],
      warnings: [],
    });
  });

  it('carries no warnings on an error or on a non-zero exit with every gate passed', () => {
    const gates = checks(['ok', 'ok', 'ok', 'ok']);
    expect(verdict({ artillery: artillery(0, gates), expectedGates: 5 }).warnings).toEqual([]);
    const failed = verdict({ artillery: artillery(7, gates) });
    expect(failed.status).toBe('failed');
    expect(failed.warnings).toEqual([]);
    expect(failed.error).toMatch(/^Artillery exited with 7:\n[\s\S]*\n\(every gate passed\)$/);
  });
});

describe('buildScenarioResult fields', () => {
  it('is not informational unless the catalogue says so, and then never fails on a gate', () => {
    const failing = artillery(1, checks(['ok', 'fail', 'ok', 'ok']));
    const strict = build({ artillery: failing });
    expect(strict.informational).toBe(false);
    expect(strict.status).toBe('failed');
    expect(strict.gates.map((g) => g.strict)).toEqual([true, true, true, true]);
    const info = build({ spec: { ...spec, informational: true }, artillery: failing });
    expect(info.informational).toBe(true);
    expect(info.status).toBe('passed');
  });

  it('is an error when Artillery wrote no report, even after exit 0 with every verdict', () => {
    const r = build({ report: null });
    expect(r.status).toBe('error');
    expect(r.error).toBe('Artillery exited with 0 and wrote no report');
  });

  it("copies the virtual users' figures and the peak of open connections", () => {
    const r = build({
      report: report(
        { sent: 200, due: 200 },
        { 'vusers.created': 20, 'vusers.completed': 17, 'vusers.failed': 3 },
      ),
      seconds: [4, 19, 12, 0].map((vus, t) => ({
        t,
        vus,
        sent: 0,
        delivered: 0,
        stallMaxMs: 0,
        sendLagMaxMs: 0,
      })),
    });
    expect(r.vusers).toEqual({ created: 20, completed: 17, failed: 3 });
    expect(r.peakOpenConnections).toBe(19);
    expect(build({ seconds: [] }).peakOpenConnections).toBe(0);
  });

  it("records the machine's steal over the scenario and warns from 5 %, never changing the verdict", () => {
    expect(build({}).machineStealPct).toBeNull();
    const quiet = build({ machineStealPct: 1.2 });
    expect(quiet.machineStealPct).toBe(1.2);
    expect(quiet.warnings).toEqual([]);
    const stolen = build({ machineStealPct: 18.7 });
    expect(stolen.machineStealPct).toBe(18.7);
    expect(stolen.status).toBe('passed');
    expect(stolen.warnings).toEqual([
      expect.stringMatching(/^the machine's host took 18.7% of its CPU time/),
    ]);
  });

  it('has no send ratio when nothing was due (not NaN)', () => {
    expect(build({ report: report({ sent: 0, due: 0 }) }).sendRatio).toBeNull();
    expect(build({ report: report({ sent: 150, due: 200 }) }).sendRatio).toBe(0.75);
  });
});

describe('bucketLatency', () => {
  const start = 1_700_000_000_000;
  const interval = (t: number, ms: number) => {
    const h = newHistogram();
    recordMs(h, ms);
    return { t, hdr: encodeHistogram(h) };
  };

  it('takes lines at the bucket start and just before its end, not at the next start', () => {
    const at = bucketLatency([interval(start, 1), interval(start + 9_999, 2), interval(start + 10_000, 1.5)]);
    expect(at(start)).toMatchObject({ count: 2, min: 1, max: 2 });
    expect(at(start + 10_000)).toMatchObject({ count: 1, max: 1.5 });
    expect(at(start - 10_000)).toBeNull();
  });

  it('honours a different bucket width', () => {
    const at = bucketLatency([interval(start, 1), interval(start + 1_000, 2)], 1);
    expect(at(start)).toMatchObject({ count: 1, max: 1 });
  });
});
