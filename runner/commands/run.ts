/** `pnpm test:performance [options]`: run the scenarios against the relay and write the run's reports. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isDatabaseUrl, maskUrl } from '../../backend/src/db/database-url';
import { CONNECTIONS_PER_GENERATOR, FRAME_EVENTS_PER_GENERATOR } from '../generator-count';
import { PROFILES, SCENARIOS } from '../catalog';
import { installSignalHandlers } from '../cleanup';
import { EXIT } from '../generator-health';
import {
  clusterOf,
  DEFAULT_CLUSTER_REDIS,
  generatorsOf,
  MAX_CLUSTER,
  modesOf,
  num,
  oneOf,
  type RunOptions,
} from '../options';
import { probeRedis } from '../redis-probe';
import { runDocument } from '../report/documents';
import { runPerformance } from '../run';
import { summaryTable } from '../summary-table';
import type { Command } from './command';

export const run: Command<RunOptions> = {
  name: '',
  usage: '[options]',
  help: `Runs the Artillery scenarios in artillery/ against the relay and writes
reports/<run-id>/ (Artillery JSON per scenario, resource samples, report.md,
report.html, summary.json). Exit code: 0 every gate passed; 1 a scenario failed or
errored; 2 usage error; 3 no scenario failed but the load generator fell behind in one
(INVALID: the numbers measure the generator, not the relay).

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
  --cluster <n>                 start n relay processes (1..${MAX_CLUSTER}) acting as one relay over Redis,
                                each on its own port, one database; each endpoint's connections
                                go round-robin over the processes, so frames cross processes.
                                The report adds p95/p99 of local vs cross-process deliveries
                                (n >= 2) and CPU/RSS per process. --cluster 1 is one process
                                with Redis (the bus's own cost); without --cluster, no Redis.
  --redis <url>                 REDIS_URL of --cluster (default ${DEFAULT_CLUSTER_REDIS}; exit 2 when
                                it does not answer PING); channels get a per-run prefix under
                                $REDIS_PREFIX (default relay-perf:)
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
  --rate <msg/s>                aggregate send rate of every throughput-style scenario
                                (throughput-*, iot-*, stability, acceptance; not the ramp)
  --hold <s>                    send window of every throughput-style scenario (overrides the profile)
  --generators <n|auto>         Artillery processes per scenario, each owning whole endpoints, merged
                                exactly (default auto: one per ${FRAME_EVENTS_PER_GENERATOR.toLocaleString('en-US')} sends and deliveries a second
                                at the busiest step and per ${CONNECTIONS_PER_GENERATOR.toLocaleString('en-US')} connections, at most one per core
                                and per endpoint; the frame-rate count leaves a core to each relay
                                process on this machine)
  --publish                     also write ${runDocument('baseline').path} from this run
  --relay-entry <file>          relay entry point (default: dist/backend/src/main.js);
                                a .ts file (backend/src/main.ts) runs from source via tsx, no build
  --no-build                    do not run \`pnpm build\` before starting the relay
  -h, --help                    this text`,

  parse(argv) {
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
        cluster: { type: 'string' },
        redis: { type: 'string' },
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
        rate: { type: 'string' },
        hold: { type: 'string' },
        generators: { type: 'string' },
        publish: { type: 'boolean', default: false },
        'relay-entry': { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) return 'help';
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
    if (values.cluster !== undefined && values.target !== undefined)
      throw new Error('--cluster starts the relay processes itself; it cannot be combined with --target');
    if (values.cluster !== undefined && values['cpu-prof'])
      throw new Error('--cpu-prof profiles one relay process; drop it or --cluster');
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
      throw new Error(
        `--run-id may only contain letters, digits, '.', '_' and '-', got "${values['run-id']}"`,
      );
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
      rate: num('--rate', values.rate, (n) => n > 0 && n <= 1_000_000, 'msg/s in (0, 1000000]'),
      hold: num('--hold', values.hold, (n) => n > 0 && n <= 86_400, 'seconds in (0, 86400]'),
      generators: generatorsOf(values.generators),
      publish: values.publish ?? false,
      relayEntry: values['relay-entry'] ?? 'dist/backend/src/main.js',
      ...clusterOf(values.cluster, values.redis),
      // Running from source needs no build.
      build: !values['no-build'] && !(values['relay-entry'] ?? '').endsWith('.ts'),
    };
  },

  async execute(opts, argv) {
    if (opts.redisUrl) {
      const problem = await probeRedis(opts.redisUrl);
      if (problem) {
        console.error(
          `error: --cluster needs Redis, but ${maskUrl(opts.redisUrl)} did not answer: ${problem}\n` +
            '(start redis-server, or point --redis at one)',
        );
        return EXIT.usage;
      }
    }
    installSignalHandlers();
    const outcome = await runPerformance(opts, argv);
    for (const pass of outcome.passes) {
      const rel = path.relative(process.cwd(), pass.passDir) || '.';
      if (outcome.passes.length > 1) console.log(`\nSTATS_MODE=${pass.mode}:`);
      console.log(`\n${summaryTable(pass.results)}`);
      console.log(
        `\nReports: ${path.join(rel, 'report.md')}, ${path.join(rel, 'report.html')} (raw data in ${rel}/)`,
      );
    }
    if (outcome.passes.length > 1) {
      console.log(
        `Side by side: ${path.join(path.relative(process.cwd(), outcome.runDir), 'comparison.md')}`,
      );
    }
    console.log(
      outcome.exitCode === EXIT.pass
        ? 'RESULT: PASS (every gate passed)'
        : outcome.exitCode === EXIT.invalid
          ? 'RESULT: INVALID (the load generator fell behind; see the table above)'
          : 'RESULT: FAIL (see the table above)',
    );
    return outcome.exitCode;
  },
};
