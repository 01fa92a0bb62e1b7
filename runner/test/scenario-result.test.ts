import type { ArtilleryRun } from '../artillery-process';
import { scenarioVerdict } from '../scenario-result';
import { artillery, checks, GATES } from './helpers/artillery-output';

const verdict = (run: ArtilleryRun | null, over: { informational?: boolean; report?: boolean } = {}) =>
  scenarioVerdict({
    informational: over.informational ?? false,
    artillery: run,
    reportWritten: over.report ?? true,
    expectedGates: GATES.length,
  });

describe('scenario verdict', () => {
  it('passes when every gate is ok and Artillery exited 0', () => {
    const v = verdict(artillery(0, checks(['ok', 'ok', 'ok', 'ok'])));
    expect(v).toMatchObject({ status: 'passed', warnings: [] });
    expect(v.error).toBeUndefined();
    expect(v.gates).toHaveLength(4);
    expect(v.gates.every((g) => g.strict && g.passed)).toBe(true);
  });

  it('fails on a failed strict gate, whatever the exit code; the gate is the reason', () => {
    for (const code of [0, 1]) {
      const v = verdict(artillery(code, checks(['ok', 'fail', 'ok', 'ok'])));
      expect(v.status).toBe('failed');
      expect(v.error).toBeUndefined();
      expect(v.gates.filter((g) => !g.passed).map((g) => g.expression)).toEqual([GATES[1]]);
    }
  });

  it('never passes without gate verdicts, even when Artillery exited 0', () => {
    const v = verdict(artillery(0, 'All VUs finished.\n'));
    expect(v.status).toBe('error');
    expect(v.error).toMatch(/without gate verdicts/);
    expect(verdict(artillery(0, 'Checks:\n\n')).status).toBe('error');
  });

  it('never passes with fewer verdicts than gates', () => {
    const v = verdict(artillery(0, checks(['ok', 'ok'])));
    expect(v.status).toBe('error');
    expect(v.error).toBe('Artillery printed 2 of 4 gate verdicts');
  });

  it('a timeout is an error that says so, even when Artillery printed verdicts or complained', () => {
    for (const output of [checks(['ok', 'ok', 'ok', 'ok']), 'Error: something\nat x.js:1']) {
      const v = verdict(artillery(null, output, true));
      expect(v.status).toBe('error');
      expect(v.error).toMatch(/^timed out: Artillery was killed after its deadline/);
    }
  });

  it("a missing report is an error with Artillery's own last lines, or a plain reason on exit 0", () => {
    const crashed = verdict(artillery(11, 'line 1\nYAMLException: bad indentation at line 4'), {
      report: false,
    });
    expect(crashed.status).toBe('error');
    expect(crashed.error).toBe('Artillery exited with 11:\nline 1\nYAMLException: bad indentation at line 4');
    const silent = verdict(artillery(0, checks(['ok', 'ok', 'ok', 'ok'])), { report: false });
    expect(silent).toMatchObject({ status: 'error', error: 'Artillery exited with 0 and wrote no report' });
  });

  it('an Artillery that could not start is an error with the reason', () => {
    const v = scenarioVerdict({
      informational: false,
      artillery: null,
      startError: 'could not start Artillery: spawn ENOENT',
      reportWritten: false,
      expectedGates: 4,
    });
    expect(v).toEqual({
      status: 'error',
      error: 'could not start Artillery: spawn ENOENT',
      gates: [],
      warnings: [],
    });
  });

  it('fails a non-zero exit even when every gate is ok, and says why', () => {
    const v = verdict(artillery(1, checks(['ok', 'ok', 'ok', 'ok']) + 'Worker exited unexpectedly'));
    expect(v.status).toBe('failed');
    expect(v.error).toMatch(/^Artillery exited with 1:\n/);
    expect(v.error).toMatch(/Worker exited unexpectedly\n\(every gate passed\)$/);
  });

  it('informational: gates are reported, never strict, and never fail the scenario', () => {
    const v = verdict(artillery(0, checks(['fail', 'fail', 'ok', 'ok'])), { informational: true });
    expect(v.status).toBe('passed');
    expect(v.gates.map((g) => [g.passed, g.strict])).toEqual([
      [false, false],
      [false, false],
      [true, false],
      [true, false],
    ]);
    // ...even though ensure printed them as strict (it would, for a threshold)
    expect(v.gates).toHaveLength(4);
  });

  it('informational: a non-zero exit with verdicts passes with a warning; no verdicts or a timeout are errors', () => {
    const odd = verdict(artillery(3, checks(['ok', 'fail', 'ok', 'ok'], true)), { informational: true });
    expect(odd.status).toBe('passed');
    expect(odd.warnings).toEqual(['Artillery exited with 3 (informational: not a failure)']);
    expect(verdict(artillery(0, ''), { informational: true }).status).toBe('error');
    expect(verdict(artillery(null, '', true), { informational: true }).status).toBe('error');
  });
});
