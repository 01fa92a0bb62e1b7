/**
 * The options each command parses its flags into, and the validators they share, so a typo fails
 * in a second, not after a 15-minute run. Each command's flags are in runner/commands/<name>.ts.
 */
import { STATS_MODES, type StatsMode } from '../backend/src/config';
import { isDatabaseUrl } from '../backend/src/db/database-url';
import type { ProfileName } from './catalog';
import type { GeneratorRequest } from './generator-count';
import type { SummaryInputs } from './report/views/summary';

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
  /** --rate: aggregate msg/s of every throughput-style scenario (see THROUGHPUT_STYLE in pass.ts) */
  rate?: number;
  /** --hold: send window in seconds of every throughput-style scenario */
  hold?: number;
  /** --generators: Artillery processes per scenario, each owning whole endpoints (default auto, by frame rate) */
  generators: GeneratorRequest;
  publish: boolean;
  build: boolean;
  /** relay entry point; a .ts file runs from source through tsx */
  relayEntry: string;
  /**
   * --cluster N: start N relay processes sharing `redisUrl` and one database, each on its own
   * port, each endpoint's connections spread over them; absent: one process without Redis.
   */
  cluster?: number;
  /** REDIS_URL of the cluster (set exactly when `cluster` is) */
  redisUrl?: string;
}

export type { StatsMode };
export type { SummaryInputs };

/** Most relay processes --cluster starts: beyond it a one-host run measures the scheduler, not the relay. */
export const MAX_CLUSTER = 16;
export const DEFAULT_CLUSTER_REDIS = 'redis://127.0.0.1:6379';

/**
 * --cluster and --redis: the cluster size (an integer in 1..MAX_CLUSTER) and its Redis URL
 * (redis:// or rediss://, default DEFAULT_CLUSTER_REDIS); both undefined without --cluster.
 * Throws for a bad size or URL, and for --redis without --cluster.
 */
export function clusterOf(
  cluster: string | undefined,
  redis: string | undefined,
): { cluster?: number; redisUrl?: string } {
  if (cluster === undefined) {
    if (redis !== undefined)
      throw new Error('--redis is the Redis of a --cluster run; give --cluster <n> too');
    return {};
  }
  const size = num(
    '--cluster',
    cluster,
    (n) => Number.isInteger(n) && n >= 1 && n <= MAX_CLUSTER,
    `an integer in 1..${MAX_CLUSTER}`,
  );
  if (redis !== undefined && !/^rediss?:\/\/[^/]/.test(redis))
    throw new Error(`--redis must be a redis:// or rediss:// URL, got "${redis}"`);
  return { cluster: size, redisUrl: redis ?? DEFAULT_CLUSTER_REDIS };
}

/** --mode names: the legacy relay is the baseline, the batched one the optimized build. */
export const MODES: Record<string, StatsMode[]> = {
  baseline: ['immediate'],
  optimized: ['batched'],
  both: ['immediate', 'batched'],
};

export interface RenderOptions {
  command: 'render';
  runDirs: string[];
  /** flags of the published documents to write (see report/documents.ts), in registry order */
  documents: string[];
  /** `render summary ...`: the optimization summary's inputs (runDirs and documents are then empty) */
  summary?: SummaryInputs & {
    /** where to write it; default docs/performance/optimization-summary.md */
    out: string | null;
  };
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

export interface CapacityOptions {
  command: 'capacity';
  endpoints: number;
  connectionsPerEndpoint: number;
  /** p95 latency a probe must stay under, ms */
  sloMs: number;
  /** send window of each probe, s */
  holdSeconds: number;
  /** connection ramp of each probe, s */
  rampSeconds: number;
  /** the search never probes above this, msg/s */
  maxRate: number;
  /** bisection stops when the bracket is this narrow, msg/s */
  resolution: number;
  /** DATABASE_URL of the project relay (default: a fresh SQLite file per probe) */
  db?: string;
  statsMode: StatsMode;
  /** also search the reference relay (default); false only with --no-reference */
  reference: boolean;
  outDir: string;
  runId?: string;
  build: boolean;
  relayEntry: string;
  /** --generators: Artillery processes per probe (default auto, by the probe's frame rate) */
  generators: GeneratorRequest;
}

/**
 * --generators: an integer in [1, 64], or `auto` (also when absent): per scenario by its frame
 * rate (runner/generator-count.ts generatorsFor). Throws on anything else.
 */
export function generatorsOf(raw: string | undefined): GeneratorRequest {
  if (raw === undefined || raw === 'auto') return 'auto';
  return num(
    '--generators',
    raw,
    (n) => Number.isInteger(n) && n >= 1 && n <= 64,
    'auto or an integer in [1, 64]',
  )!;
}

/** Parsed flags of a command, or 'help' for -h/--help. */
export type Parsed<O> = O | 'help';

/** Throws "<flag> expects <what>, got ..." unless `raw` is a number passing `check`; undefined when absent. */
export function num(
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

/** `raw` when it is one of `allowed`, `fallback` when absent; throws otherwise. */
export function oneOf<T extends string>(
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

/** The passes' STATS_MODEs from --mode or --stats-mode (at most one given). */
export function modesOf(
  mode: string | undefined,
  statsMode: string | undefined,
): { modes: StatsMode[]; statsMode: StatsMode } {
  const modes =
    statsMode !== undefined
      ? [oneOf('--stats-mode', statsMode, STATS_MODES, 'batched')]
      : MODES[oneOf('--mode', mode, Object.keys(MODES), 'optimized')];
  return { modes, statsMode: modes[0] };
}

/** --db values of explain and flush-bench: file: or mysql://...; a scratch SQLite when none. */
export function dbUrls(raw: string[] | undefined): string[] {
  const dbs = raw ?? ['file:'];
  for (const db of dbs) {
    if (!isDatabaseUrl(db)) throw new Error(`--db must be file: or mysql://..., got "${db}"`);
  }
  return dbs;
}
