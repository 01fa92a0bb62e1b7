/** `pnpm test:performance capacity`: the highest msg/s the relay and the reference relay sustain within the SLO. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isDatabaseUrl, providerOf } from '../../backend/src/db/database-url';
import { STATS_MODES } from '../../backend/src/config';
import { runProbe, type RelayKind } from '../capacity/probe';
import { kneeRatio, renderCapacityHtml, type CapacityDocument } from '../capacity/report';
import { searchCapacity, type SearchResult } from '../capacity/search';
import { installSignalHandlers } from '../cleanup';
import { FRAME_EVENTS_PER_GENERATOR } from '../generator-count';
import { EXIT } from '../generator-health';
import { gitInfo } from '../metadata';
import { generatorsOf, num, oneOf, type CapacityOptions } from '../options';
import { REPO_ROOT } from '../paths';
import { buildRelay } from '../relay-process';
import type { Command } from './command';

const positiveInt = (flag: string, raw: string | undefined, max: number) =>
  num(flag, raw, (n) => Number.isInteger(n) && n >= 1 && n <= max, `an integer in [1, ${max}]`);

/** Exit code of a capacity run: 1 when a search ended on an error, 3 when one ended on an INVALID probe, else 0. */
export function capacityExitCode(searches: readonly (SearchResult | null)[]): number {
  const limits = searches.filter((s): s is SearchResult => s !== null).map((s) => s.limitedBy);
  if (limits.includes('error')) return EXIT.fail;
  return limits.includes('generator') ? EXIT.invalid : EXIT.pass;
}

export const capacity: Command<CapacityOptions> = {
  name: 'capacity',
  usage:
    '[--endpoints 50] [--conns 10] [--slo 100] [--hold 20] [--ramp 10] [--max-rate 40000] [--resolution 250] [--no-reference] [...]',
  help: `capacity: searches the highest aggregate msg/s at which p95 latency stays under the SLO
with nothing lost and a valid generator (the knee), first for the project relay, then for the
reference relay (runner/reference-relay.ts: the thinnest ws forwarding relay, the cost floor).
Coarse steps (1000, 2000, 4000, 8000, 12000, +4000...) until a probe does not pass, then
bisection down to --resolution. Each probe is one throughput run against a freshly started relay.
Writes reports/<run-id>/capacity.json, capacity.html (both latency-versus-rate curves) and each
probe's raw data under relay/<rate>/ and reference/<rate>/. Exit code: 0 both knees found;
1 a search ended on a probe error; 2 usage; 3 a search ended on an INVALID probe (the knee is
the load generator's limit, a lower bound for the relay).
  --endpoints <n>         endpoints per probe (default 50)
  --conns <n>             connections per endpoint (default 10)
  --slo <ms>              p95 latency a probe must stay under (default 100)
  --hold <s>              send window per probe (default 20)
  --ramp <s>              connection ramp per probe (default 10)
  --max-rate <msg/s>      highest rate probed (default 40000)
  --resolution <msg/s>    bisection stops at this bracket width (default 250)
  --no-reference          search the project relay only
  --generators <n|auto>   Artillery processes per probe, each owning whole endpoints (default auto:
                          one per ${FRAME_EVENTS_PER_GENERATOR.toLocaleString('en-US')} sends and deliveries a second, at most one per core;
                          the frame-rate count leaves a core to the relay on this machine)
  --db, --stats-mode, --relay-entry, --no-build, --out, --run-id: as for a run (project relay only)`,

  parse(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        endpoints: { type: 'string' },
        conns: { type: 'string' },
        slo: { type: 'string' },
        hold: { type: 'string' },
        ramp: { type: 'string' },
        'max-rate': { type: 'string' },
        resolution: { type: 'string' },
        'no-reference': { type: 'boolean', default: false },
        generators: { type: 'string' },
        db: { type: 'string' },
        'stats-mode': { type: 'string' },
        'relay-entry': { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        out: { type: 'string' },
        'run-id': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) return 'help';
    if (positionals.length > 0)
      throw new Error(`unexpected argument "${positionals[0]}" (flags start with --; see --help)`);
    if (values.db !== undefined && !isDatabaseUrl(values.db))
      throw new Error(`--db must be a file:... (SQLite) or mysql://... URL, got "${values.db}"`);
    if (values['run-id'] !== undefined && !/^[\w.-]+$/.test(values['run-id']))
      throw new Error(
        `--run-id may only contain letters, digits, '.', '_' and '-', got "${values['run-id']}"`,
      );
    const maxRate = num(
      '--max-rate',
      values['max-rate'],
      (n) => n > 0 && n <= 1_000_000,
      'msg/s in (0, 1000000]',
    );
    const resolution = num('--resolution', values.resolution, (n) => n > 0, 'a positive number of msg/s');
    const relayEntry = values['relay-entry'] ?? 'dist/backend/src/main.js';
    return {
      command: 'capacity',
      endpoints: positiveInt('--endpoints', values.endpoints, 10_000) ?? 50,
      connectionsPerEndpoint: positiveInt('--conns', values.conns, 1_000) ?? 10,
      sloMs: num('--slo', values.slo, (n) => n > 0, 'a positive number of ms') ?? 100,
      // 20 s and 10 s, not shorter: with a 10 s window and a 5 s ramp the project relay's probes
      // read p95 45-47 ms from 2,000 msg/s on and its knee came out at 3,500; with these, p95
      // stayed 2.7-13.6 ms up to 11,250 msg/s (docs/performance/README.md, Capacity search).
      holdSeconds: num('--hold', values.hold, (n) => n > 0 && n <= 3600, 'seconds in (0, 3600]') ?? 20,
      rampSeconds: num('--ramp', values.ramp, (n) => n > 0 && n <= 600, 'seconds in (0, 600]') ?? 10,
      maxRate: maxRate ?? 40_000,
      resolution: resolution ?? 250,
      db: values.db,
      statsMode: oneOf('--stats-mode', values['stats-mode'], STATS_MODES, 'batched'),
      reference: !values['no-reference'],
      outDir: values.out ?? 'reports',
      runId: values['run-id'],
      relayEntry,
      build: !values['no-build'] && !relayEntry.endsWith('.ts'),
      generators: generatorsOf(values.generators),
    };
  },

  async execute(opts) {
    installSignalHandlers();
    const runId =
      opts.runId ??
      `capacity-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
    const runDir = path.resolve(REPO_ROOT, opts.outDir, runId);
    if (existsSync(runDir) && readdirSync(runDir).length > 0)
      throw new Error(`${runDir} already holds a run; pick another --run-id`);
    mkdirSync(runDir, { recursive: true });
    const git = gitInfo(REPO_ROOT);
    if (opts.build) {
      console.log('Building the relay (pnpm build)...');
      buildRelay(REPO_ROOT);
    }
    const search = async (kind: RelayKind): Promise<SearchResult> => {
      console.log(`\n=== Capacity search: ${kind === 'relay' ? 'project relay' : 'reference relay'} ===`);
      const result = await searchCapacity(
        async (rate) => {
          const p = await runProbe(kind, rate, opts, path.join(runDir, kind), runId);
          const why =
            p.error ??
            (p.valid ? (p.pass ? '' : 'over the SLO or lost frames') : p.invalidReasons.join('; '));
          console.log(
            `${kind} @ ${rate} msg/s: ${p.pass ? 'pass' : p.valid ? 'FAIL' : 'INVALID'}, p95 ${p.p95 ?? '-'} ms, ` +
              `p99 ${p.p99 ?? '-'} ms, sent ${p.sentPerSec}/s, lost ${p.lost}, ${p.generators ?? 1} generator(s)${why ? ` (${why})` : ''}`,
          );
          return p;
        },
        { maxRate: opts.maxRate, resolution: opts.resolution },
      );
      console.log(`${kind} knee: ${result.kneeMsgPerSec} msg/s (limited by ${result.limitedBy})`);
      return result;
    };
    const relay = await search('relay');
    const reference = opts.reference ? await search('reference') : null;
    const doc: CapacityDocument = {
      runId,
      gitCommit: git.commit,
      generatedAt: new Date().toISOString(),
      settings: {
        endpoints: opts.endpoints,
        connectionsPerEndpoint: opts.connectionsPerEndpoint,
        sloMs: opts.sloMs,
        holdSeconds: opts.holdSeconds,
        maxRate: opts.maxRate,
        resolution: opts.resolution,
        statsMode: opts.statsMode,
        database: opts.db ? providerOf(opts.db) : 'sqlite',
        generators: opts.generators,
      },
      relay,
      reference,
      ratio: kneeRatio(relay, reference),
    };
    writeFileSync(path.join(runDir, 'capacity.json'), JSON.stringify(doc, null, 2));
    writeFileSync(path.join(runDir, 'capacity.html'), renderCapacityHtml(doc));
    const rel = path.relative(process.cwd(), runDir) || '.';
    console.log(
      `\nKnees: project relay ${relay.kneeMsgPerSec} msg/s (${relay.limitedBy})` +
        (reference ? `, reference relay ${reference.kneeMsgPerSec} msg/s (${reference.limitedBy})` : '') +
        (doc.ratio !== null ? `, ratio ${doc.ratio}` : ''),
    );
    console.log(`Wrote ${path.join(rel, 'capacity.json')} and ${path.join(rel, 'capacity.html')}`);
    return capacityExitCode([relay, reference]);
  },
};
