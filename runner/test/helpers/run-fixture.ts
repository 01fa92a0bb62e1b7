/**
 * fixtures/run.json with its verdicts computed by the runner's own code: each scenario's gate
 * lines are printed as Artillery's ensure prints them and judged by scenarioVerdict, so the
 * report tests render verdicts the runner would have reached, not hand-written ones.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunFile } from '../../report/load';
import { scenarioVerdict } from '../../scenario-result';

export function loadRunFixture(): RunFile {
  const run = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'run.json'), 'utf8')) as RunFile;
  for (const s of run.scenarios) {
    const output = ['Checks:', ...s.gates.map((g) => `${g.passed ? 'ok' : 'fail'}: ${g.expression}`)].join(
      '\n',
    );
    const verdict = scenarioVerdict({
      informational: s.informational,
      artillery: { exitCode: s.exitCode, timedOut: false, output },
      reportWritten: true,
      expectedGates: s.gates.length,
    });
    s.status = verdict.status;
    s.error = verdict.error;
    s.gates = verdict.gates;
    s.warnings = [...s.warnings, ...verdict.warnings];
  }
  run.passed = run.scenarios.every((s) => s.status === 'passed');
  return run;
}
