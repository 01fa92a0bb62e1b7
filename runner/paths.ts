/**
 * Where the runner reads and writes: the repository's folders and the files of a run directory.
 * Published documents' paths live in the document registry (report/documents.ts).
 */
import path from 'node:path';

/** Absolute path of the repository (the runner runs from source via tsx, so __dirname is runner/). */
export const REPO_ROOT = path.resolve(__dirname, '..');
export const TEMPLATES_DIR = path.join(REPO_ROOT, 'templates');
/** Relative to REPO_ROOT: passed to Artillery, which runs there. */
export const ARTILLERY_DIR = 'artillery';
export const COMMON_CONFIG = path.join(ARTILLERY_DIR, 'common.yml');
/** Local (uncommitted) outputs of explain and flush-bench, and the default parent of run directories. */
export const REPORTS_DIR = 'reports';

/** Files of one pass directory (a run directory, or one per mode after --mode both). */
export const passFiles = {
  run: (dir: string) => path.join(dir, 'run.json'),
  reportMd: (dir: string) => path.join(dir, 'report.md'),
  reportHtml: (dir: string) => path.join(dir, 'report.html'),
  relayLog: (dir: string) => path.join(dir, 'relay.log'),
};

/** The side-by-side document of a --mode both run directory. */
export const comparisonFile = (runDir: string) => path.join(runDir, 'comparison.md');

/** Files one scenario leaves in its pass directory. */
export function scenarioFiles(passDir: string, scenario: string) {
  const file = (suffix: string) => path.join(passDir, `${scenario}${suffix}`);
  return {
    /** Artillery's JSON report */
    report: file('.json'),
    artilleryLog: file('.artillery.log'),
    /** per-second lines of the processor (RELAY_PERF_PROGRESS_FILE) */
    progress: file('.progress.jsonl'),
    /** resource samples and per-second totals */
    samples: file('.samples.json'),
    /** the relay's /metrics text just before and just after the scenario */
    metricsBefore: file('.metrics-before.prom'),
    metricsAfter: file('.metrics-after.prom'),
  };
}
