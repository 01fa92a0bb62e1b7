/** Artillery runs as the scenario verdict sees them, for the verdict's unit tests. */
import type { ArtilleryRun } from '../../artillery-process';

export const GATES = [
  'e2e.latency_over_p95_limit <= 0.05 * e2e.frames_delivered',
  'e2e.latency_over_p99_limit <= 0.01 * e2e.frames_delivered',
  'e2e.frames_lost == 0',
  'vusers.failed == 0',
];

/** Artillery's console output as ensure prints it (with the colour codes it really uses). */
export function checks(verdicts: ('ok' | 'fail')[], optional = false): string {
  const lines = verdicts.map(
    (v, i) => `\u001b[32m${v}\u001b[39m: ${GATES[i]}${optional && v === 'fail' ? ' (optional)' : ''}`,
  );
  return ['All VUs finished.', 'Summary report ...', 'Checks:', ...lines, ''].join('\n');
}

export const artillery = (exitCode: number | null, output: string, timedOut = false): ArtilleryRun => ({
  exitCode,
  output,
  timedOut,
});
