/** Entry point of `pnpm test:performance`. Exit code: 0 only when every gate of every scenario passed. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { providerOf } from '../backend/src/db/database-url';
import { installSignalHandlers } from './cleanup';
import { HELP, parseCli, PLANS_PATH } from './options';
import { flushBench, flushBenchTable } from './flush-bench';
import { queryPlans } from './query-plans';
import {
  passesOf,
  renderAnalysis,
  renderBaseline,
  renderComparisons,
  renderPoolSizing,
  renderAcceptance,
  renderQueryPlans,
  renderRunReports,
} from './report';
import { REPO_ROOT, runPerformance } from './run';
import { summaryTable } from './summary-table';

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseCli(argv);
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (opts.command === 'help') {
    console.log(HELP);
    return 0;
  }
  if (opts.command === 'explain') {
    const reports = [];
    for (const db of opts.dbs) {
      console.log(`Query plans on a scratch ${providerOf(db) === 'sqlite' ? 'SQLite' : 'MySQL'} database...`);
      reports.push(await queryPlans(db));
    }
    const outputs = [path.join(REPO_ROOT, 'reports', 'query-plans.md')];
    if (opts.publish) outputs.push(path.join(REPO_ROOT, PLANS_PATH));
    for (const out of outputs) {
      renderQueryPlans(reports, out);
      console.log(`Wrote ${path.relative(process.cwd(), out)}`);
    }
    return 0;
  }
  if (opts.command === 'flush-bench') {
    const results = [];
    for (const db of opts.dbs) {
      console.log(`Stats flush on a scratch ${providerOf(db) === 'sqlite' ? 'SQLite' : 'MySQL'} database...`);
      results.push(await flushBench(db, opts.sizes));
    }
    console.log(flushBenchTable(results));
    const out = path.join(REPO_ROOT, 'reports', 'flush-bench.json');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ generatedAt: new Date().toISOString(), results }, null, 2));
    console.log(`Wrote ${path.relative(process.cwd(), out)}`);
    return 0;
  }
  if (opts.command === 'render') {
    const dirs = opts.runDirs.map((d) => path.resolve(d));
    for (const pass of dirs.flatMap(passesOf)) {
      renderRunReports(pass);
      console.log(`Rendered ${path.relative(process.cwd(), path.join(pass, 'report.md'))} and report.html`);
    }
    const published: [string | undefined, (dirs: string[], out: string) => void][] = [
      [opts.baselineOut, renderBaseline],
      [opts.analysisOut, renderAnalysis],
      [opts.comparisonOut, renderComparisons],
      [opts.poolSizingOut, renderPoolSizing],
      [opts.acceptanceOut, renderAcceptance],
    ];
    for (const [out, render] of published) {
      if (!out) continue;
      render(dirs, path.join(REPO_ROOT, out));
      console.log(`Wrote ${out}`);
    }
    return 0;
  }

  installSignalHandlers();
  const outcome = await runPerformance(opts, argv);
  for (const pass of outcome.passes) {
    const rel = path.relative(process.cwd(), pass.runDir) || '.';
    if (outcome.passes.length > 1) console.log(`\nSTATS_MODE=${pass.mode}:`);
    console.log(`\n${summaryTable(pass.results)}`);
    console.log(
      `\nReports: ${path.join(rel, 'report.md')}, ${path.join(rel, 'report.html')} (raw data in ${rel}/)`,
    );
  }
  if (outcome.passes.length > 1) {
    console.log(`Side by side: ${path.join(path.relative(process.cwd(), outcome.runDir), 'comparison.md')}`);
  }
  console.log(outcome.passed ? 'RESULT: PASS (every gate passed)' : 'RESULT: FAIL (see the table above)');
  return outcome.passed ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(2);
  },
);
