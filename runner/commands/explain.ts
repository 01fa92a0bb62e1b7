/** `pnpm test:performance explain`: query plans of the API's reads on scratch databases. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { providerOf } from '../../backend/src/db/database-url';
import { dbUrls, type ExplainOptions } from '../options';
import { REPO_ROOT, REPORTS_DIR } from '../paths';
import { queryPlans } from '../query-plans';
import { QUERY_PLANS_DOCUMENT, renderDocument } from '../report/documents';
import type { Command } from './command';

export const explain: Command<ExplainOptions> = {
  name: 'explain',
  usage: '[--db <url>]... [--publish]',
  help: `explain: query plans (EXPLAIN) and timings of the API's reads before and after the index
migration, on scratch databases (a temporary SQLite file; for each --db mysql://..., a new
database beside it, dropped afterwards); writes ${REPORTS_DIR}/query-plans.md, with --publish also
${QUERY_PLANS_DOCUMENT.path}.`,

  parse(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        db: { type: 'string', multiple: true },
        publish: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return 'help';
    return { command: 'explain', dbs: dbUrls(values.db), publish: values.publish ?? false };
  },

  async execute(opts) {
    const reports = [];
    for (const db of opts.dbs) {
      console.log(`Query plans on a scratch ${providerOf(db) === 'sqlite' ? 'SQLite' : 'MySQL'} database...`);
      reports.push(await queryPlans(db));
    }
    const outputs = [path.join(REPO_ROOT, REPORTS_DIR, 'query-plans.md')];
    if (opts.publish) outputs.push(path.join(REPO_ROOT, QUERY_PLANS_DOCUMENT.path));
    for (const out of outputs) {
      renderDocument(QUERY_PLANS_DOCUMENT, reports, out);
      console.log(`Wrote ${path.relative(process.cwd(), out)}`);
    }
    return 0;
  },
};
