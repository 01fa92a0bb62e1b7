/** Command-line flags of `pnpm test:performance`, validated up front so a typo fails in a second, not after a 15-minute run. */
import { parseArgs } from 'node:util';
import { STATS_MODES, type StatsMode } from '../backend/src/config';
import { isDatabaseUrl } from '../backend/src/db/database-url';
import { PROFILES, SCENARIOS, type ProfileName } from './catalog';

export interface GateOverrides {
  p95Ms?: number;
  p99Ms?: number;
  maxLost?: number;
  minSendRatio?: number;
}

export interface RunOptions {
  command: 'run';
  profile: ProfileName;
  only: string[];
  target?: string;
  /** pid of an external relay, so its CPU/RSS can still be sampled */
  relayPid?: number;
  db?: string;
  /** STATS_MODE of the relay for each pass, in order; two with --mode both. */
  modes: StatsMode[];
  /** The mode of the pass being run (set per pass by the runner). */
  statsMode: StatsMode;
  /** Run the relay under `node --cpu-prof` and summarise the profile. */
  cpuProf: boolean;
  /** Turn on MySQL's slow query log for the run (needs --db mysql://...). */
  slowLog: boolean;
  outDir: string;
  runId?: string;
  gates: GateOverrides;
  publish: boolean;
  build: boolean;
  /** relay entry point; a .ts file runs from source through tsx */
  relayEntry: string;
}

export type { StatsMode };

/** --mode names: the legacy relay is the baseline, the batched one the optimized build. */
export const MODES: Record<string, StatsMode[]> = {
  baseline: ['immediate'],
  optimized: ['batched'],
  both: ['immediate', 'batched'],
};

export interface RenderOptions {
  command: 'render';
  runDirs: string[];
  baselineOut?: string;
  analysisOut?: string;
  comparisonOut?: string;
  poolSizingOut?: string;
  acceptanceOut?: string;
}

export interface ExplainOptions {
  command: 'explain';
  /** Databases to compare plans on: file: (a scratch SQLite) and/or mysql:// (a scratch database beside it). */
  dbs: string[];
  publish: boolean;
}

export interface FlushBenchOptions {
  command: 'flush-bench';
  /** file: (a scratch SQLite) and/or mysql:// (a scratch database beside it). */
  dbs: string[];
  /** Dirty endpoints per flush, one measurement each. */
  sizes: number[];
}

export type CliOptions =
  RunOptions | RenderOptions | ExplainOptions | FlushBenchOptions | { command: 'help' };

export const BASELINE_PATH = 'docs/performance/baseline-report.md';
export const ANALYSIS_PATH = 'docs/performance/bottleneck-analysis.md';
export const COMPARISON_PATH = 'docs/performance/optimization-comparison.md';
export const PLANS_PATH = 'docs/performance/query-plans.md';
export const POOL_SIZING_PATH = 'docs/performance/pool-sizing.md';
export const ACCEPTANCE_PATH = 'docs/performance/acceptance-report.md';

export const HELP = `Usage: pnpm test:performance [options]
       pnpm test:performance render <reports/run-id>... [--baseline] [--analysis] [--comparison] [--pool-sizing] [--acceptance]
       pnpm test:performance explain [--db <url>]... [--publish]
       pnpm test:performance flush-bench [--db <url>]... [--endpoints 50,500,2000]

Runs the Artillery scenarios in artillery/ against the relay and writes
reports/<run-id>/ (Artillery JSON per scenario, resource samples, report.md,
report.html). Exits 0 only when every gate passed.

The relay the runner starts inherits its environment, so relay settings can be
varied per run (e.g. DB_POOL_SIZE=4 pnpm test:performance ...); the report
records every relay setting it passed on.

Options:
  --profile <smoke|quick|full>  which scenarios and how long (default: quick)
                                smoke < 2 min, quick < 15 min, full = the spec's plan incl. 1 h acceptance
  --only <name[,name]>          run just these scenarios (repeatable); known:
                                ${SCENARIOS.map((s) => s.name).join(', ')}
  --target <ws-url>             use an already running relay (API key from $API_KEY) instead of starting one
  --relay-pid <pid>             with --target: sample that process's CPU/RSS (same machine)
  --db <url>                    DATABASE_URL for the relay the runner starts
                                (default: a fresh temporary SQLite file; e.g. mysql://root@127.0.0.1:3306/test)
  --mode <baseline|optimized|both>  which relay to measure (default: optimized):
                                baseline = STATS_MODE=immediate (legacy, one DB write per message),
                                optimized = STATS_MODE=batched, both = each scenario on both,
                                one after the other, with a side-by-side comparison.md
  --stats-mode <immediate|batched>  the same by STATS_MODE name (one mode)
  --cpu-prof                    run the relay under node --cpu-prof; the report lists the top
                                functions by self time (.cpuprofile kept for Chrome DevTools)
  --slow-log                    with --db mysql://...: turn MySQL's slow query log on for the run
                                (long_query_time 0.05 s), summarise it, restore the settings
  --out <dir>                   parent directory for the run directory (default: reports)
  --run-id <id>                 name of the run directory (default: timestamp)
  --gate-p95 <ms>               override the p95 latency gate (default 100)
  --gate-p99 <ms>               override the p99 latency gate (default 250)
  --gate-max-lost <n>           allowed lost deliveries (default 0)
  --gate-min-send-ratio <0..1>  achieved/target send rate (default 0.95)
  --publish                     also write ${BASELINE_PATH} from this run
  --relay-entry <file>          relay entry point (default: dist/backend/src/main.js);
                                a .ts file (backend/src/main.ts) runs from source via tsx, no build
  --no-build                    do not run \`pnpm build\` before starting the relay
  -h, --help                    this text

explain: query plans (EXPLAIN) and timings of the API's reads before and after the index
migration, on scratch databases (a temporary SQLite file; for each --db mysql://..., a new
database beside it, dropped afterwards); writes reports/query-plans.md, with --publish also
${PLANS_PATH}.

flush-bench: what one batched stats flush costs per number of dirty endpoints, through the
relay's own code on scratch databases (as explain); prints a table and writes
reports/flush-bench.json. On SQLite the flush also holds the relay's event loop that long.

render: re-render report.md/report.html of existing run directories (a --mode both run
directory renders each pass); --baseline (re)writes ${BASELINE_PATH} from the
baseline passes of the given runs (e.g. a SQLite and a MySQL run), --analysis writes
${ANALYSIS_PATH} from the same, --comparison writes
${COMPARISON_PATH} from --mode both runs, --pool-sizing writes
${POOL_SIZING_PATH} from runs that differ in DB_POOL_SIZE, --acceptance writes
${ACCEPTANCE_PATH} from a run of the 1 h acceptance scenario.
`;

function num(
  flag: string,
  raw: string | undefined,
  check: (n: number) => boolean,
  what: string,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n))
    throw new Error(`${flag} expects ${what}, got "${raw}"`);
  return n;
}

function oneOf<T extends string>(
  flag: string,
  raw: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw new Error(`${flag} must be one of ${allowed.join('|')}, got "${raw}"`);
  return raw as T;
}

function modesOf(
  mode: string | undefined,
  statsMode: string | undefined,
): { modes: StatsMode[]; statsMode: StatsMode } {
  const modes =
    statsMode !== undefined
      ? [oneOf('--stats-mode', statsMode, STATS_MODES, 'batched')]
      : MODES[oneOf('--mode', mode, Object.keys(MODES), 'optimized')];
  return { modes, statsMode: modes[0] };
}

function dbUrls(raw: string[] | undefined): string[] {
  const dbs = raw ?? ['file:'];
  for (const db of dbs) {
    if (!isDatabaseUrl(db)) throw new Error(`--db must be file: or mysql://..., got "${db}"`);
  }
  return dbs;
}

export function parseCli(argv: string[]): CliOptions {
  if (argv[0] === 'flush-bench') {
    const { values } = parseArgs({
      args: argv.slice(1),
      strict: true,
      options: {
        db: { type: 'string', multiple: true },
        endpoints: { type: 'string', default: '50,200,500,1000,2000' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return { command: 'help' };
    const sizes = (values.endpoints ?? '').split(',').map((x) => {
      const n = Number(x.trim());
      if (!Number.isInteger(n) || n < 1 || n > 100_000)
        throw new Error(`--endpoints expects comma-separated counts between 1 and 100000, got "${x}"`);
      return n;
    });
    return { command: 'flush-bench', dbs: dbUrls(values.db), sizes };
  }
  if (argv[0] === 'explain') {
    const { values } = parseArgs({
      args: argv.slice(1),
      strict: true,
      options: {
        db: { type: 'string', multiple: true },
        publish: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return { command: 'help' };
    return { command: 'explain', dbs: dbUrls(values.db), publish: values.publish ?? false };
  }
  if (argv[0] === 'render') {
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      strict: true,
      options: {
        baseline: { type: 'boolean', default: false },
        analysis: { type: 'boolean', default: false },
        comparison: { type: 'boolean', default: false },
        'pool-sizing': { type: 'boolean', default: false },
        acceptance: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return { command: 'help' };
    if (positionals.length === 0)
      throw new Error('render needs at least one run directory, e.g. reports/20250101-120000');
    return {
      command: 'render',
      runDirs: positionals,
      baselineOut: values.baseline ? BASELINE_PATH : undefined,
      analysisOut: values.analysis ? ANALYSIS_PATH : undefined,
      comparisonOut: values.comparison ? COMPARISON_PATH : undefined,
      poolSizingOut: values['pool-sizing'] ? POOL_SIZING_PATH : undefined,
      acceptanceOut: values.acceptance ? ACCEPTANCE_PATH : undefined,
    };
  }

  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      profile: { type: 'string' },
      only: { type: 'string', multiple: true },
      target: { type: 'string' },
      'relay-pid': { type: 'string' },
      db: { type: 'string' },
      'stats-mode': { type: 'string' },
      mode: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'slow-log': { type: 'boolean', default: false },
      out: { type: 'string' },
      'run-id': { type: 'string' },
      'gate-p95': { type: 'string' },
      'gate-p99': { type: 'string' },
      'gate-max-lost': { type: 'string' },
      'gate-min-send-ratio': { type: 'string' },
      publish: { type: 'boolean', default: false },
      'relay-entry': { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { command: 'help' };
  if (positionals.length > 0)
    throw new Error(`unexpected argument "${positionals[0]}" (flags start with --; see --help)`);

  if (values.target !== undefined) {
    let url: URL;
    try {
      url = new URL(values.target);
    } catch {
      throw new Error(`--target must be a ws:// or wss:// URL, got "${values.target}"`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
      throw new Error(`--target must be a ws:// or wss:// URL, got "${values.target}"`);
    if (values['relay-entry'] !== undefined)
      throw new Error(
        '--relay-entry configures the relay the runner starts; it cannot be combined with --target',
      );
    if (values.db !== undefined)
      throw new Error('--db configures the relay the runner starts; it cannot be combined with --target');
  }
  if (values['relay-pid'] !== undefined && values.target === undefined) {
    throw new Error(
      '--relay-pid only makes sense with --target (the runner knows the pid of a relay it starts)',
    );
  }
  if (values.db !== undefined && !isDatabaseUrl(values.db)) {
    throw new Error(`--db must be a file:... (SQLite) or mysql://... URL, got "${values.db}"`);
  }
  if (values.mode !== undefined && values['stats-mode'] !== undefined) {
    throw new Error('--mode and --stats-mode choose the same thing; give one');
  }
  if (values.target !== undefined && (values.mode === 'both' || values['cpu-prof'])) {
    throw new Error('--mode both and --cpu-prof need a relay the runner starts; drop --target');
  }
  if (values['slow-log'] && !/^(mysql|mariadb):\/\//.test(values.db ?? '')) {
    throw new Error('--slow-log reads the MySQL slow query log: give --db mysql://...');
  }
  if (values['run-id'] !== undefined && !/^[\w.-]+$/.test(values['run-id'])) {
    throw new Error(`--run-id may only contain letters, digits, '.', '_' and '-', got "${values['run-id']}"`);
  }

  return {
    command: 'run',
    profile: oneOf('--profile', values.profile, PROFILES, 'quick'),
    only: (values.only ?? [])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean),
    target: values.target,
    relayPid: num('--relay-pid', values['relay-pid'], (n) => Number.isInteger(n) && n > 0, 'a process id'),
    db: values.db,
    ...modesOf(values.mode, values['stats-mode']),
    cpuProf: values['cpu-prof'] ?? false,
    slowLog: values['slow-log'] ?? false,
    outDir: values.out ?? 'reports',
    runId: values['run-id'],
    gates: {
      p95Ms: num('--gate-p95', values['gate-p95'], (n) => n > 0, 'a positive number of ms'),
      p99Ms: num('--gate-p99', values['gate-p99'], (n) => n > 0, 'a positive number of ms'),
      maxLost: num(
        '--gate-max-lost',
        values['gate-max-lost'],
        (n) => Number.isInteger(n) && n >= 0,
        'an integer >= 0',
      ),
      minSendRatio: num(
        '--gate-min-send-ratio',
        values['gate-min-send-ratio'],
        (n) => n > 0 && n <= 1,
        'a ratio in (0, 1]',
      ),
    },
    publish: values.publish ?? false,
    relayEntry: values['relay-entry'] ?? 'dist/backend/src/main.js',
    // Running from source needs no build.
    build: !values['no-build'] && !(values['relay-entry'] ?? '').endsWith('.ts'),
  };
}
