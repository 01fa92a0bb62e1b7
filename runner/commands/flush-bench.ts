/** `pnpm test:performance flush-bench`: what one batched stats flush costs per number of dirty endpoints. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { providerOf } from '../../backend/src/db/database-url';
import { flushBench, flushBenchTable } from '../flush-bench';
import { dbUrls, type FlushBenchOptions } from '../options';
import { REPO_ROOT, REPORTS_DIR } from '../paths';
import type { Command } from './command';

export const flushBenchCommand: Command<FlushBenchOptions> = {
  name: 'flush-bench',
  usage: '[--db <url>]... [--endpoints 50,500,2000]',
  help: `flush-bench: what one batched stats flush costs per number of dirty endpoints, through the
relay's own code on scratch databases (as explain); prints a table and writes
${REPORTS_DIR}/flush-bench.json. On SQLite the flush also holds the relay's event loop that long.`,

  parse(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        db: { type: 'string', multiple: true },
        endpoints: { type: 'string', default: '50,200,500,1000,2000' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return 'help';
    const sizes = (values.endpoints ?? '').split(',').map((x) => {
      const n = Number(x.trim());
      if (!Number.isInteger(n) || n < 1 || n > 100_000)
        throw new Error(`--endpoints expects comma-separated counts between 1 and 100000, got "${x}"`);
      return n;
    });
    return { command: 'flush-bench', dbs: dbUrls(values.db), sizes };
  },

  async execute(opts) {
    const results = [];
    for (const db of opts.dbs) {
      console.log(`Stats flush on a scratch ${providerOf(db) === 'sqlite' ? 'SQLite' : 'MySQL'} database...`);
      results.push(await flushBench(db, opts.sizes));
    }
    console.log(flushBenchTable(results));
    const out = path.join(REPO_ROOT, REPORTS_DIR, 'flush-bench.json');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ generatedAt: new Date().toISOString(), results }, null, 2));
    console.log(`Wrote ${path.relative(process.cwd(), out)}`);
    return 0;
  },
};
