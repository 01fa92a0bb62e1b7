/** docs/performance/acceptance-report.md: the acceptance scenario's runs, published as they were measured. */
import { loadPasses } from '../load';
import { viewOf, type ReportView } from './run-report';

/** Every pass of the given run directories; throws unless one of them ran the acceptance scenario. */
export function acceptanceView(runDirs: string[], generatedAt: string, flag: string): ReportView {
  const runs = loadPasses(runDirs);
  if (!runs.some((r) => r.scenarios.some((s) => s.family === 'acceptance'))) {
    throw new Error('none of these runs ran the acceptance scenario (--profile full --only acceptance)');
  }
  return viewOf(runs, false, generatedAt, {
    title: 'Final acceptance run (Story 9.3): 50 endpoints x 10 connections for 1 hour',
    flag,
  });
}
