/** The pass/fail/INVALID table printed at the end of a run; the last column says why a scenario did not pass. */
import type { ScenarioResult } from './results';

export function summaryTable(results: readonly ScenarioResult[]): string {
  const header = ['scenario', 'result', 'p95 ms', 'p99 ms', 'sent/due', 'lost', 'failed VUs', 'why'];
  const rows = results.map((r) => {
    const failed = r.gates.filter((g) => !g.passed).map((g) => g.expression);
    return [
      r.name,
      r.informational
        ? `info (${r.status === 'error' ? 'error' : failed.length === 0 ? 'ok' : 'breaks'})`
        : r.status.toUpperCase(),
      r.latency ? String(r.latency.p95) : '-',
      r.latency ? String(r.latency.p99) : '-',
      r.sendRatio === null ? '-' : `${(r.sendRatio * 100).toFixed(1)}%`,
      String(r.frames.lost),
      String(r.vusers.failed),
      r.error
        ? why(r.error)
        : [...(r.invalidReasons ?? []).map((x) => `INVALID: ${x}`), ...failed].join('; ') || '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/**
 * One line for an error: its first line, and for a multi-line one (`Artillery exited with 1:` and
 * Artillery's last lines) its last non-blank line too, which is where an uncaught error's message
 * or a hook's complaint ends up; the whole text is printed above the table.
 */
function why(error: string): string {
  const lines = error.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return lines[0] ?? error;
  return `${lines[0]} ${lines[lines.length - 1].trim()}`;
}
