/** `pnpm test:performance render`: re-render saved runs' reports and, per flag, the published documents. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RenderOptions } from '../options';
import { passFiles } from '../paths';
import { publish, RUN_DOCUMENTS } from '../report/documents';
import { passesOf } from '../report/load';
import { renderRunReports } from '../report/views/run-report';
import type { Command } from './command';

const flagWidth = Math.max(...RUN_DOCUMENTS.map((d) => d.flag.length)) + 2;

export const render: Command<RenderOptions> = {
  name: 'render',
  usage: `<reports/run-id>... ${RUN_DOCUMENTS.map((d) => `[--${d.flag}]`).join(' ')}`,
  help: [
    'render: re-render report.md/report.html of existing run directories (a --mode both run',
    'directory renders each pass); each flag also (re)writes a published document:',
    ...RUN_DOCUMENTS.map((d) => `  ${`--${d.flag}`.padEnd(flagWidth + 2)}${d.path} ${d.from}`),
  ].join('\n'),

  parse(args) {
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
    const dirs = opts.runDirs.map((d) => path.resolve(d));
    for (const pass of dirs.flatMap(passesOf)) {
      renderRunReports(pass);
      console.log(`Rendered ${path.relative(process.cwd(), passFiles.reportMd(pass))} and report.html`);
    }
    for (const flag of opts.documents) publish(flag, dirs);
    return 0;
  },
};
