import {
  EXIT,
  exitCodeOf,
  GENERATOR_LIMITS,
  generatorProblems,
  withGeneratorCheck,
} from '../generator-health';
import type { ScenarioResult } from '../results';
import { summaryTable } from '../summary-table';
import { loadRunFixture } from './helpers/run-fixture';

/** A fixture scenario (real numbers of a healthy generator) with some signals replaced. */
function scenario(over: Partial<ScenarioResult> = {}): ScenarioResult {
  const s = loadRunFixture().scenarios.find((x) => x.name === 'throughput-100')!;
  return { ...s, status: 'passed', ...over };
}

const lag = (p99: number) => ({ count: 100, min: 0, p50: 0, p95: p99, p99, max: p99, mean: 1 });
const cpu = (cpuMeanPct: number) => ({
  cpuPeakPct: 100,
  cpuMeanPct,
  rssPeakMb: 100,
  rssMeanMb: 90,
  samples: 10,
});

describe('generatorProblems', () => {
  it('finds none for the fixture run, whose generator kept up', () => {
    expect(generatorProblems(scenario())).toEqual([]);
  });

  // Each signal at its limit is still fine; just past it, it makes the scenario INVALID.
  it.each([
    ['send ratio', { sendRatio: 0.95 }, { sendRatio: 0.949 }, /sent 94\.9% of the frames due \(< 95%\)/],
    ['send lag p99', { sendLagMs: lag(50) }, { sendLagMs: lag(50.1) }, /send lag p99 50 ms \(> 50 ms\)/],
    ['loop stall', { generatorStallMaxMs: 200 }, { generatorStallMaxMs: 307 }, /stalled 307 ms/],
    ['generator CPU', { generator: cpu(90) }, { generator: cpu(97.5) }, /CPU averaged 97.5%/],
  ] as const)('%s: at the limit valid, past it a reason', (_name, at, past, reason) => {
    expect(generatorProblems(scenario(at))).toEqual([]);
    const reasons = generatorProblems(scenario(past));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(reason);
  });

  it('lists every signal that crossed, and ignores missing ones', () => {
    expect(
      generatorProblems(
        scenario({ sendRatio: 0.5, sendLagMs: lag(300), generatorStallMaxMs: 300, generator: cpu(99) }),
      ),
    ).toHaveLength(4);
    expect(
      generatorProblems(
        scenario({ sendRatio: null, sendLagMs: null, generatorStallMaxMs: null, generator: null }),
      ),
    ).toEqual([]);
  });

  it('uses the limits it is given', () => {
    expect(
      generatorProblems(scenario({ sendLagMs: lag(20) }), { ...GENERATOR_LIMITS, maxSendLagP99Ms: 10 }),
    ).toHaveLength(1);
  });
});

describe('withGeneratorCheck', () => {
  const stalled = { sendLagMs: lag(290), generatorStallMaxMs: 307 };

  it('turns a passed or failed scenario into INVALID, with the reasons', () => {
    for (const status of ['passed', 'failed'] as const) {
      const r = withGeneratorCheck(scenario({ status, ...stalled }));
      expect(r.status).toBe('invalid');
      expect(r.invalidReasons).toHaveLength(2);
    }
  });

  it('leaves errors and informational scenarios their status, but records the reasons', () => {
    const err = withGeneratorCheck(scenario({ status: 'error', error: 'timed out', ...stalled }));
    expect(err.status).toBe('error');
    expect(err.invalidReasons).toHaveLength(2);
    const info = withGeneratorCheck(scenario({ informational: true, ...stalled }));
    expect(info.status).toBe('passed');
    expect(info.invalidReasons).toHaveLength(2);
  });

  it('keeps a healthy scenario as it was, with no reasons', () => {
    const r = withGeneratorCheck(scenario({ status: 'failed' }));
    expect(r.status).toBe('failed');
    expect(r.invalidReasons).toEqual([]);
  });

  it('puts INVALID and its reason in the summary table', () => {
    const table = summaryTable([withGeneratorCheck(scenario(stalled))]);
    expect(table).toMatch(/throughput-100 \| INVALID /);
    expect(table).toContain('INVALID: generator send lag p99 290 ms (> 50 ms)');
  });
});

describe('summaryTable, the why column of an error', () => {
  const whyOf = (error: string) =>
    summaryTable([scenario({ status: 'error', error })])
      .split('\n')[2]
      .split(' | ')
      .pop()!
      .trim();

  it("gives an exit's first line and the last line Artillery printed (the error's message)", () => {
    const error = [
      'Artillery exited with 1:',
      'Test run id: t9jn3',
      '    throw new Error(`...`);',
      '',
      'Error: RELAY_PERF_OTHER_THREADS_NICE must be an integer 0-19 (0: off), got "abc"',
    ].join('\n');
    expect(whyOf(error)).toBe(
      'Artillery exited with 1: Error: RELAY_PERF_OTHER_THREADS_NICE must be an integer 0-19 (0: off), got "abc"',
    );
  });

  it('gives a one-line error as it is, blank lines ignored', () => {
    expect(whyOf('Artillery exited with 0 and wrote no report')).toBe(
      'Artillery exited with 0 and wrote no report',
    );
    expect(whyOf('deadline: no report after 300 s\n  \n')).toBe('deadline: no report after 300 s');
  });
});

describe('exitCodeOf', () => {
  it.each([
    [['passed', 'passed'], EXIT.pass],
    [['passed', 'invalid'], EXIT.invalid],
    [['invalid', 'failed'], EXIT.fail],
    [['invalid', 'error'], EXIT.fail],
    [['failed'], EXIT.fail],
    [[], EXIT.fail],
  ] as const)('%j -> %d', (statuses, code) => {
    expect(exitCodeOf(statuses)).toBe(code);
  });

  it('keeps INVALID apart from pass, fail and usage', () => {
    expect(new Set(Object.values(EXIT)).size).toBe(4);
    expect(EXIT).toEqual({ pass: 0, fail: 1, usage: 2, invalid: 3 });
  });
});
