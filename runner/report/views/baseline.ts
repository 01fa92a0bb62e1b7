/** docs/performance/baseline-report.md: the legacy (STATS_MODE=immediate) passes, as a run report. */
import { baselinePasses } from '../load';
import { viewOf, type ReportView } from './run-report';

/** The baseline passes of the given run directories (e.g. a SQLite and a MySQL run). Throws when none has one. */
export function baselineView(runDirs: string[], generatedAt: string): ReportView {
  return viewOf(baselinePasses(runDirs), true, generatedAt);
}
