/** docs/performance/query-plans.md: the plans and timings `explain` measured. */
import type { PlansReport } from '../../query-plans';

/** One report per database `explain` ran on. */
export function queryPlansView(reports: PlansReport[], generatedAt: string) {
  return { reports, generatedAt };
}
