/** `pnpm test:performance render`: re-render saved runs' reports and, per flag, the published documents. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RenderOptions } from '../options';
import { comparisonFile, passFiles, REPO_ROOT } from '../paths';
import { publish, renderDocument, RUN_DOCUMENTS, SUMMARY_DOCUMENT } from '../report/documents';
import { loadRun, passesOf } from '../report/load';
import { renderComparison } from '../report/views/comparison';
import { renderRunReports } from '../report/views/run-report';
import { renderComparisonHtml } from '../report/views/run-report-comparison';
import type { Command } from './command';

const flagWidth = Math.max(...RUN_DOCUMENTS.map((d) => d.flag.length)) + 2;

/** `render summary [--comparison DIR]... [--capacity DIR] [--acceptance DIR] [--cluster DIR] [--out FILE]`. */
function parseSummary(args: string[]): RenderOptions | 'help' {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      comparison: { type: 'string', multiple: true },
      capacity: { type: 'string' },
      acceptance: { type: 'string' },
      cluster: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0)
    throw new Error(
      `render summary takes its run directories by flag (--comparison, --capacity, --acceptance, --cluster), got "${positionals[0]}"`,
    );
  const summary = {
    comparison: values.comparison ?? [],
    capacity: values.capacity ?? null,
    acceptance: values.acceptance ?? null,
    cluster: values.cluster ?? null,
    out: values.out ?? null,
  };
  if (!summary.comparison.length && !summary.capacity && !summary.acceptance && !summary.cluster)
    throw new Error('render summary needs at least one of --comparison, --capacity, --acceptance, --cluster');
  return { command: 'render', runDirs: [], documents: [], summary };
}

/**
 * Re-renders one pass's report.md/report.html, and for a --mode both run directory also its
 * comparison.md and comparison.html (immediate pass first, as the runner writes them).
 */
function rerender(runDir: string): string[] {
  const passes = passesOf(runDir);
  const written: string[] = [];
  for (const pass of passes) {
    renderRunReports(pass);
    written.push(passFiles.reportMd(pass), passFiles.reportHtml(pass));
  }
  if (passes.length > 1) {
    const order = (dir: string) => (loadRun(dir).meta.statsMode === 'immediate' ? 0 : 1);
    const ordered = [...passes].sort((a, b) => order(a) - order(b));
    renderComparison(ordered, comparisonFile(runDir));
    renderComparisonHtml(ordered, path.join(runDir, 'comparison.html'));
    written.push(comparisonFile(runDir), path.join(runDir, 'comparison.html'));
  }
  return written;
}

export const render: Command<RenderOptions> = {
  name: 'render',
  usage: [
    `<reports/run-id>... ${RUN_DOCUMENTS.map((d) => `[--${d.flag}]`).join(' ')}`,
    '       pnpm test:performance render summary [--comparison <run-dir>]... [--capacity <dir>] [--acceptance <run-dir>] [--cluster <run-dir>] [--out <file>]',
  ].join('\n'),
  help: [
    'render: re-render report.md/report.html of existing run directories (a --mode both run',
    'directory renders each pass, and its comparison.md and comparison.html); each flag also',
    '(re)writes a published document:',
    ...RUN_DOCUMENTS.map((d) => `  ${`--${d.flag}`.padEnd(flagWidth + 2)}${d.path} ${d.from}`),
    `render summary: writes ${SUMMARY_DOCUMENT.path} (or --out) from named runs; any may be`,
    'left out, and the document then says "not measured in the runs given" where it is needed:',
    '  --comparison <dir>  a --mode both run (repeatable, e.g. SQLite and MySQL): bottleneck figures',
    '                      before/after, stats writes, the 50 x 10 criteria, connection scenarios',
    '  --acceptance <dir>  a run of the 1 h acceptance scenario (--profile full --only acceptance)',
    '  --capacity <dir>    a capacity run (capacity.json): knees of the relay and the reference relay',
    '  --cluster <dir>     a run against a PM2 cluster (--target)',
  ].join('\n'),

  parse(args) {
    if (args[0] === 'summary') return parseSummary(args.slice(1));
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(
          RUN_DOCUMENTS.map((d) => [d.flag, { type: 'boolean' as const, default: false }]),
        ),
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return 'help';
    if (positionals.length === 0)
      throw new Error('render needs at least one run directory, e.g. reports/20250101-120000');
    return {
      command: 'render',
      runDirs: positionals,
      documents: RUN_DOCUMENTS.filter((d) => (values as Record<string, unknown>)[d.flag] === true).map(
        (d) => d.flag,
      ),
    };
  },

  async execute(opts) {
    if (opts.summary) {
      const { out, ...inputs } = opts.summary;
      const abs = (d: string | null) => (d === null ? null : path.resolve(d));
      for (const d of [...inputs.comparison, inputs.capacity, inputs.acceptance, inputs.cluster])
        if (d !== null && !existsSync(d)) throw new Error(`no such run directory: ${d}`);
      const file = out ? path.resolve(out) : path.join(REPO_ROOT, SUMMARY_DOCUMENT.path);
      renderDocument(
        SUMMARY_DOCUMENT,
        {
          comparison: inputs.comparison.map((d) => path.resolve(d)),
          capacity: abs(inputs.capacity),
          acceptance: abs(inputs.acceptance),
          cluster: abs(inputs.cluster),
        },
        file,
      );
      console.log(`Wrote ${path.relative(process.cwd(), file)}`);
      return 0;
    }
    const dirs = opts.runDirs.map((d) => path.resolve(d));
    for (const dir of dirs)
      for (const file of rerender(dir)) console.log(`Rendered ${path.relative(process.cwd(), file)}`);
    for (const flag of opts.documents) publish(flag, dirs);
    return 0;
  },
};
