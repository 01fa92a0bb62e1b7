import { z } from 'zod';
import { DATABASE_URL_PATTERN } from './db/database-url';

/** STATS_MODE values: the legacy per-event writes, and the in-memory batching that replaced them. */
export const STATS_MODES = ['immediate', 'batched'] as const;
export type StatsMode = (typeof STATS_MODES)[number];

/**
 * The one place for every setting: each entry is the environment variable, its default and
 * what it does. `loadConfig` validates all of them at start and names the bad variable.
 */
const bool = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  /** production refuses to start without API_KEY; anything else generates one. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** HTTP and WebSocket port (0 picks a free one). */
  PORT: int(0, 65535).default(8080),
  /** Interface to listen on. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** `file:<path>` selects embedded SQLite; `mysql://user:pass@host:port/db` selects MySQL 8 / MariaDB. */
  DATABASE_URL: z
    .string()
    .regex(DATABASE_URL_PATTERN, 'must start with file: or mysql://')
    .default('file:./data/relay.db'),
  /** SQLite journal: `wal` lets readers run beside the writer; `delete` is SQLite's own default. */
  SQLITE_JOURNAL_MODE: z.enum(['wal', 'delete']).default('wal'),
  /** SQLite: how long a statement waits for a lock before failing with SQLITE_BUSY. */
  SQLITE_BUSY_TIMEOUT_MS: int(0, 600_000).default(5000),
  /**
   * batched: where the stats flush's UPDATEs and the device-data and alert INSERTs run.
   * `thread`: a worker thread with a database connection of its own, so building (and on SQLite
   * running) a 500-row statement does not hold up forwarding; `prisma`: through Prisma on the
   * event loop (the rollback). SQLite in memory always uses Prisma.
   */
  BULK_WRITES: z.enum(['thread', 'prisma']).default('thread'),
  /** Connection pool size for MySQL (MariaDB adapter connectionLimit). */
  DB_POOL_SIZE: int(1, 1000).default(10),
  /** Bearer key for every /api route. Unset outside production: a random one is generated and printed. */
  API_KEY: z
    .string()
    .min(16, 'must be at least 16 characters')
    // Node strips a header value's surrounding whitespace: such a key could never be presented.
    .refine((key) => key === key.trim(), 'must not begin or end with whitespace')
    .optional(),
  /**
   * How stats, device data and alert rules meet the database. `batched`: in-memory counters
   * flushed as one statement per interval, device data inserted in batches, alert rules cached.
   * `immediate`: the legacy path (one awaited write per connect/disconnect/message, one insert
   * and one rules query per device frame), kept as the measured baseline and rollback path.
   */
  STATS_MODE: z.enum(STATS_MODES).default('batched'),
  /** batched: how often pending stats and device data are written. */
  STATS_FLUSH_INTERVAL_MS: int(10, 3_600_000).default(1000),
  /** batched: flush early when this many endpoints have unwritten stats. */
  STATS_FLUSH_MAX_PENDING: int(1, 100_000).default(500),
  /**
   * batched: device-data rows per INSERT; a full batch is written without waiting for the
   * interval. At most 5000: 4 bound parameters a row stay under SQLite's 32766.
   */
  DEVICE_DATA_BATCH_SIZE: int(1, 5000).default(500),
  /** Most device-data rows held in memory (batched) or being inserted (immediate); beyond it readings are refused with an error frame. */
  DEVICE_DATA_QUEUE_MAX: int(1, 10_000_000).default(20_000),
  /** batched: /health answers 503 once the oldest unwritten device reading is older than this. */
  DEVICE_DATA_STALL_MS: int(100, 86_400_000).default(30_000),
  /** batched: how long cached alert rules are trusted (other processes' rule changes show up within it). */
  ALERT_RULES_CACHE_MS: int(0, 3_600_000).default(5000),
  /** Ping interval; a socket that missed the previous pong is terminated. */
  HEARTBEAT_INTERVAL_MS: int(100).default(30000),
  /**
   * Pings are spread over the interval in this many groups, one visited every
   * HEARTBEAT_INTERVAL_MS / HEARTBEAT_SLOTS (at least 10 ms apart); 1 pings every socket at once.
   * 300 (one slot every 100 ms at 30 s): at 19,000 sockets a slot holds the event loop about
   * 5 ms against 22 ms with 30 slots (scripts/heartbeat-burst.ts, docs/performance/bottleneck-analysis.md).
   */
  HEARTBEAT_SLOTS: int(1, 10_000).default(300),
  /**
   * Endpoints whose verified token hash is kept in memory, so reconnects do not ask the
   * database; a delete forgets its entry at once. 0 disables the cache.
   */
  TOKEN_CACHE_SIZE: int(0, 10_000_000).default(100_000),
  /** How long a cached token hash is trusted: the most a delete made by another process goes unseen. */
  TOKEN_CACHE_TTL_MS: int(0, 86_400_000).default(60_000),
  /** Most token lookups in flight against the database at once; a connect storm queues behind them. */
  TOKEN_CHECK_CONCURRENCY: int(1, 1000).default(4),
  /**
   * Pending TCP connections the kernel queues before the relay accepts them (listen backlog;
   * Linux caps it at net.core.somaxconn). Node's 511 drops connects in a reconnect storm.
   */
  LISTEN_BACKLOG: int(1, 65_535).default(4096),
  /** Largest accepted WebSocket frame in bytes; larger ones close the socket with 1009. */
  WS_MAX_PAYLOAD_BYTES: int(1).default(64 * 1024),
  /**
   * Most bytes the relay holds unsent for one socket (frames its client has not read yet). A
   * broadcast that leaves more queued terminates the socket (client sees 1006), counted in
   * relay_disconnects_total{reason="slow_consumer"}; its peers are unaffected.
   */
  WS_MAX_BUFFERED_BYTES: int(1).default(1024 * 1024),
  /** Base URL put in `wsUrl` of created endpoints; defaults to ws://<Host header>. */
  PUBLIC_WS_URL: z.string().url().optional(),
  /** winston level: error, warn, info, debug. */
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  /** Prisma operations at least this slow are logged with their model and operation. */
  SLOW_QUERY_MS: z.coerce.number().min(0).default(50),
  /** Serve /metrics without the API key. */
  METRICS_PUBLIC: bool.default(false),
  /**
   * Several relay processes sharing this Redis (and the same DATABASE_URL) act as one relay:
   * frames, endpoint deletes and alert-rule changes reach every process. Unset: one process, no
   * Redis. `redis://[user:pass@]host:port[/db]`.
   */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  /** Prefix of every Redis channel the relay uses, so several relays can share one Redis. */
  REDIS_PREFIX: z.string().min(1).default('relay:'),
  /**
   * Also publish relay_endpoint_connections{endpoint}: one series per endpoint with sockets, so
   * as many series as IoT endpoints. Off: only the relay_connections total.
   */
  METRICS_PER_ENDPOINT: bool.default(false),
  /** Longest time graceful shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: int(100).default(10000),
});

export type Config = z.infer<typeof schema>;

/** Every environment variable the relay reads. */
export const CONFIG_VARIABLES = Object.keys(schema.shape) as (keyof Config)[];
/** A setting is missing, malformed or out of range; the message names every bad variable. */
export class ConfigError extends Error {}

/**
 * Reads and validates every setting in CONFIG_VARIABLES from `env` and returns them typed, with
 * defaults applied (durations in ms, sizes in bytes, as each entry above says). Empty strings
 * count as unset so `FOO= cmd` falls back to the default. Throws ConfigError listing every
 * invalid variable, when NODE_ENV=production has no API_KEY, or when PM2 runs several instances
 * (pm2Instances) without REDIS_URL.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  if (parsed.data.NODE_ENV === 'production' && !parsed.data.API_KEY) {
    throw new ConfigError('Invalid configuration: API_KEY: required when NODE_ENV=production');
  }
  const instances = pm2Instances(env);
  if (instances > 1 && !parsed.data.REDIS_URL) {
    throw new ConfigError(
      `Invalid configuration: REDIS_URL: required when running as one of ${instances} PM2 instances ` +
        "(clients of one endpoint on different workers would silently not see each other's frames); " +
        'set REDIS_URL or run one instance',
    );
  }
  return parsed.data;
}

/**
 * How many instances of this app PM2 runs, from the variables PM2 puts into each worker's
 * environment: `instances` (the app's resolved count, 'max' already turned into the core count)
 * and `NODE_APP_INSTANCE` (this worker's 0-based index, so index k means at least k + 1). 1 when
 * not under PM2 or when the values are not numbers. Not settings of the relay, hence outside the
 * schema.
 */
export function pm2Instances(env: NodeJS.ProcessEnv): number {
  const index = Number(env.NODE_APP_INSTANCE);
  if (env.NODE_APP_INSTANCE === undefined || env.NODE_APP_INSTANCE === '' || !Number.isInteger(index))
    return 1;
  const count = Number(env.instances);
  return Math.max(Number.isInteger(count) ? count : 1, index + 1, 1);
}
