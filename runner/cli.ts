/** Entry point of `pnpm test:performance`. Exit code: 0 only when every gate of every scenario passed. */
import path from 'node:path';
import { installSignalHandlers } from './cleanup';
import { HELP, parseCli } from './options';
import { renderBaseline, renderRunReports } from './report';
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
  if (opts.command === 'render') {
    for (const dir of opts.runDirs) {
      renderRunReports(path.resolve(dir));
      console.log(`Rendered ${path.join(dir, 'report.md')} and report.html`);
    }
    if (opts.baselineOut) {
      renderBaseline(
        opts.runDirs.map((d) => path.resolve(d)),
        path.join(REPO_ROOT, opts.baselineOut),
      );
      console.log(`Wrote ${opts.baselineOut}`);
    }
    return 0;
  }

  installSignalHandlers();
  const outcome = await runPerformance(opts, argv);
  console.log(`\n${summaryTable(outcome.results)}`);
  const rel = path.relative(process.cwd(), outcome.runDir) || '.';
  console.log(
    `\nReports: ${path.join(rel, 'report.md')}, ${path.join(rel, 'report.html')} (raw data in ${rel}/)`,
  );
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
