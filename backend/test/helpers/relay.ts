import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { setLogLevel } from '../../src/logger';
import { startRelay, type Relay } from '../../src/relay';
import { requireDb, type RelayTarget } from './databases';

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  text: string;
}

export interface CreatedEndpoint {
  id: string;
  name: string;
  token: string;
  wsUrl: string;
  createdAt: string;
}

/** A relay running in this process plus a tiny REST client for it. */
export class TestRelay {
  readonly created = new Set<string>();
  readonly runId = randomBytes(3).toString('hex');

  constructor(
    readonly relay: Relay,
    readonly apiKey: string,
    readonly dbUrl: string,
  ) {}

  get port(): number {
    return this.relay.port();
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  wsUrl(endpointId: string, token?: string): string {
    const q = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
    return `ws://127.0.0.1:${this.port}/ws/${encodeURIComponent(endpointId)}${q}`;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    opts: { body?: unknown; rawBody?: string; headers?: Record<string, string>; auth?: string | null } = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    const auth = opts.auth === undefined ? `Bearer ${this.apiKey}` : opts.auth;
    if (auth !== null) headers.authorization = auth;
    let body: string | undefined;
    if (opts.rawBody !== undefined) {
      body = opts.rawBody;
      headers['content-type'] ??= 'application/json';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed as T, text };
  }

  /** Creates a uniquely named endpoint (tracked for cleanup). */
  async createEndpoint(label = 'ep'): Promise<CreatedEndpoint> {
    const res = await this.request<CreatedEndpoint>('POST', '/api/endpoints', {
      body: { name: `test-${label}-${this.runId}-${randomBytes(3).toString('hex')}` },
    });
    if (res.status !== 201) throw new Error(`create endpoint: ${res.status} ${res.text}`);
    this.created.add(res.body.id);
    return res.body;
  }

  async stats(endpointId: string) {
    const res = await this.request<{
      currentConnections: number;
      totalConnections: number;
      totalMessages: number;
      lastMessageAt: string | null;
    }>('GET', `/api/endpoints/${endpointId}/stats`);
    if (res.status !== 200) throw new Error(`stats: ${res.status} ${res.text}`);
    return res.body;
  }

  /** The /metrics text (the exposition a scraper sees). */
  async metricsText(): Promise<string> {
    const res = await this.request('GET', '/metrics');
    if (res.status !== 200) throw new Error(`metrics: ${res.status} ${res.text}`);
    return res.text;
  }

  /**
   * One unlabelled sample of /metrics (e.g. `relay_heartbeat_terminations_total`) as a number;
   * throws when the series is missing, so a removed metric cannot read as 0.
   */
  async metric(name: string): Promise<number> {
    const text = await this.metricsText();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`metric ${name} not in /metrics`);
    return Number(m[1]);
  }

  /** Removes every endpoint this relay created (cascade), then stops it. */
  async stop(): Promise<void> {
    try {
      // Through the API first (closes sockets, stops stats tracking), then a direct sweep.
      for (const id of this.created)
        await this.request('DELETE', `/api/endpoints/${id}`).catch(() => undefined);
      if (this.created.size) {
        await this.relay.db.prisma.endpoint.deleteMany({ where: { id: { in: [...this.created] } } });
      }
    } finally {
      await this.relay.stop();
    }
  }
}

export type RelayEnv = Record<string, string>;

/** Batched-mode flush interval of test relays unless a test sets its own. */
export const TEST_FLUSH_INTERVAL_MS = 50;

export async function startTestRelay(dbUrl: string, env: RelayEnv = {}): Promise<TestRelay> {
  setLogLevel(process.env.TEST_LOG_LEVEL || 'error');
  const apiKey = `test-key-${randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: dbUrl,
    API_KEY: apiKey,
    LOG_LEVEL: 'error',
    NODE_ENV: 'test',
    // No STATS_MODE here: a caller that does not name one gets production's default (batched).
    // Batched device data is queryable only after a flush; a short interval keeps waits short
    // (stats reads merge pending deltas and never need it).
    STATS_FLUSH_INTERVAL_MS: String(TEST_FLUSH_INTERVAL_MS),
    ...env,
  });
  const relay = await startRelay({ config, apiKey });
  return new TestRelay(relay, apiKey, dbUrl);
}

/**
 * beforeAll/afterAll around a relay on the target's database in the target's stats mode (`env`
 * may not override the mode). Returns a getter (the relay exists only once beforeAll has run).
 * A required-but-unreachable database fails every test of the block.
 */
export function useRelay(target: RelayTarget, env: RelayEnv = {}): () => TestRelay {
  let t: TestRelay | undefined;
  beforeAll(async () => {
    requireDb(target.db);
    t = await startTestRelay(target.db.url(), { ...env, STATS_MODE: target.statsMode });
  });
  afterAll(async () => {
    await t?.stop();
  });
  return () => {
    if (!t) throw new Error('relay not started');
    return t;
  };
}
