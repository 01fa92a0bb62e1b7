/** Orchestrates one `pnpm test:performance` run: one pass per STATS_MODE, then the side-by-side comparison. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exitCodeOf } from './generator-health';
import { gitInfo } from './metadata';
import type { RunOptions, StatsMode } from './options';
import { comparisonFile, REPO_ROOT } from './paths';
import { renderComparisonHtml } from './report/views/run-report-comparison';
import { runPass, type PassOutcome } from './pass';
import { publish } from './report/documents';
import { renderComparison } from './report/views/comparison';
import { runSummary } from './summary-json';

export interface RunOutcome {
  runDir: string;
  /** every pass passed */
  passed: boolean;
  /** 0 pass, 1 a scenario failed or errored, 3 none failed but one was INVALID (generator-health.ts) */
  exitCode: number;
  passes: (PassOutcome & { mode: StatsMode })[];
}

function timestampId(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/**
 * Runs every pass into `<outDir>/<runId>/` (one subdirectory per mode with --mode both) and, for
 * two passes, writes comparison.md (and with --publish the comparison document); always
 * summary.json (summary-json.ts). Throws when the
 * run directory already holds files.
 */
export async function runPerformance(opts: RunOptions, argv: string[]): Promise<RunOutcome> {
  const runId = opts.runId ?? timestampId();
  const runDir = path.resolve(REPO_ROOT, opts.outDir, runId);
  if (existsSync(runDir) && readdirSync(runDir).length > 0)
    throw new Error(`${runDir} already holds a run; pick another --run-id`);
  mkdirSync(runDir, { recursive: true });
  const passes: RunOutcome['passes'] = [];
  // Read once: every pass measures the relay built at the start, even if the tree changes meanwhile.
  const git = gitInfo(REPO_ROOT);
  for (const [i, mode] of opts.modes.entries()) {
    const many = opts.modes.length > 1;
    if (many) console.log(`\n=== Pass ${i + 1}/${opts.modes.length}: STATS_MODE=${mode} ===`);
    const passDir = many ? path.join(runDir, mode) : runDir;
    mkdirSync(passDir, { recursive: true });
    // The relay is built once; later passes reuse it.
    const passOpts = { ...opts, statsMode: mode, build: opts.build && i === 0 };
    const outcome = await runPass(passOpts, argv, many ? `${runId}/${mode}` : runId, passDir, git);
    passes.push({ mode, ...outcome });
  }
  if (passes.length > 1) {
    const passDirs = passes.map((p) => p.passDir);
    renderComparison(passDirs, comparisonFile(runDir));
    renderComparisonHtml(passDirs, path.join(runDir, 'comparison.html'));
    if (opts.publish) publish('comparison', [runDir]);
  }
  writeFileSync(
    path.join(runDir, 'summary.json'),
    JSON.stringify(
      runSummary(
        runId,
        git.commit,
        passes.map((p) => ({ statsMode: p.mode, database: p.database, results: p.results })),
      ),
      null,
      2,
    ),
  );
  const exitCode = exitCodeOf(passes.flatMap((p) => p.results.map((r) => r.status)));
  return { runDir, passed: passes.every((p) => p.passed), exitCode, passes };
}
