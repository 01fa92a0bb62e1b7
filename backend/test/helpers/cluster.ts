import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';
import { maskUrl } from '../../src/db/database-url';
import { probeService, serviceVerdict } from './service-probe';
import { freePort, spawnRelay, waitHealthy, type RelayProcess } from './process';
import { Client } from './ws';

/**
 * Redis for the cluster suites: TEST_REDIS_URL (default redis://127.0.0.1:6379). With
 * REQUIRE_REDIS=1 an unreachable Redis makes every cluster test FAIL (`unavailable` is set and
 * requireRedis throws in beforeAll); without it the suites are skipped with a warning.
 */
export interface RedisTarget {
  url: string;
  unavailable?: string;
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

function hasRedisServer(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 5000 });
    return undefined;
  } catch (err) {
    return `redis-server not runnable: ${(err as Error).message}`;
  }
}

let cached: RedisTarget | null | undefined;

/** The shared Redis, `unavailable` when required but unreachable, or null: skip the suite. */
export function redisTarget(): RedisTarget | null {
  if (cached !== undefined) return cached;
  const problem = probeService('redis', TEST_REDIS_URL) ?? hasRedisServer();
  const verdict = serviceVerdict(
    problem && `Redis at ${maskUrl(TEST_REDIS_URL)} is unusable: ${problem}`,
    'REQUIRE_REDIS',
  );
  if (verdict.action === 'run') cached = { url: TEST_REDIS_URL };
  else if (verdict.action === 'fail') cached = { url: TEST_REDIS_URL, unavailable: verdict.reason };
  else {
    console.warn(`cluster tests skipped: ${verdict.reason}`);
    cached = null;
  }
  return cached;
}

/** `describe` when Redis is usable or required, `describe.skip` otherwise (shown as skipped). */
export function describeWithRedis(name: string, fn: (redis: () => RedisTarget) => void): void {
  const target = redisTarget();
  (target ? describe : describe.skip)(name, () =>
    fn(() => {
      if (!target) throw new Error('unreachable: suite skipped');
      if (target.unavailable) throw new Error(target.unavailable);
      return target;
    }),
  );
}

/** A channel prefix no other test run or relay sharing the Redis uses. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${process.pid}-${randomBytes(4).toString('hex')}:`;
}

export interface CreatedEndpoint {
  id: string;
  token: string;
}

/** One relay process of a cluster, with a small REST client for it. */
export class ClusterNode {
  constructor(
    readonly proc: RelayProcess,
    readonly port: number,
    readonly apiKey: string,
    readonly label: string,
  ) {}

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async createEndpoint(label: string): Promise<CreatedEndpoint> {
    const res = await this.request<CreatedEndpoint>('POST', '/api/endpoints', {
      name: `cluster-${label}-${randomBytes(4).toString('hex')}`,
    });
    if (res.status !== 201) throw new Error(`create endpoint on ${this.label}: ${res.status}`);
    return res.body;
  }

  async stats(endpointId: string) {
    const res = await this.request<{
      currentConnections: number;
      totalConnections: number;
      totalMessages: number;
    }>('GET', `/api/endpoints/${endpointId}/stats`);
    if (res.status !== 200) throw new Error(`stats on ${this.label}: ${res.status}`);
    const { currentConnections, totalConnections, totalMessages } = res.body;
    return { currentConnections, totalConnections, totalMessages };
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.port}/metrics`, {
      headers: { authorization: `Bearer ${this.apiKey}` },
    });
    return res.text();
  }

  connect(ep: CreatedEndpoint, label: string): Promise<Client> {
    return connectClient(`ws://127.0.0.1:${this.port}/ws/${ep.id}?token=${ep.token}`, label);
  }
}

/** Opens a client; `node` is the X-Relay-Node header of the process that accepted it. */
export async function connectClient(url: string, label: string): Promise<Client & { node?: string }> {
  const ws = new WebSocket(url);
  const client = new Client(ws, label) as Client & { node?: string };
  ws.once('upgrade', (res) => (client.node = String(res.headers['x-relay-node'] ?? '')));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)),
    );
    ws.once('error', reject);
  });
  return client;
}

/** A metric's value in Prometheus text (first sample of that name), or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export interface Cluster {
  nodes: ClusterNode[];
  apiKey: string;
  /** SIGTERM to every process; resolves when all exited. */
  stop(): Promise<void>;
}

/**
 * Starts `n` relay processes (tsx, real sockets) together on one database and one Redis prefix,
 * the way PM2 starts a cluster's workers, and waits until every one answers /health.
 */
export async function startCluster(
  n: number,
  {
    databaseUrl,
    redisUrl,
    prefix,
    env = {},
  }: { databaseUrl: string; redisUrl: string; prefix: string; env?: Record<string, string> },
): Promise<Cluster> {
  const apiKey = `cluster-key-${randomBytes(12).toString('hex')}`;
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const nodes = ports.map(
    (port, i) =>
      new ClusterNode(
        spawnRelay({
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: databaseUrl,
          REDIS_URL: redisUrl,
          REDIS_PREFIX: prefix,
          API_KEY: apiKey,
          NODE_ENV: 'test',
          LOG_LEVEL: 'info',
          STATS_MODE: 'batched',
          STATS_FLUSH_INTERVAL_MS: '200',
          ...env,
        }),
        port,
        apiKey,
        `node${i}`,
      ),
  );
  const stop = async () => {
    await Promise.all(
      nodes.map(async (node) => {
        if (node.proc.child.exitCode === null && node.proc.child.signalCode === null)
          node.proc.child.kill('SIGTERM');
        const timer = setTimeout(() => node.proc.child.kill('SIGKILL'), 15000);
        await node.proc.exited;
        clearTimeout(timer);
      }),
    );
  };
  try {
    await Promise.all(nodes.map((node) => waitHealthy(node.port, node.proc, 60000)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, apiKey, stop };
}

/** A private redis-server a test can kill and restart (outages without touching the shared one). */
export class PrivateRedis {
  private child?: ChildProcess;
  constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.up();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server (no persistence) and waits until it answers PING. */
  async up(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 10000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`redis-server on ${this.port} exited with ${child.exitCode}`);
      const ok = await new Promise<boolean>((resolve) => {
        const sock = net.connect(this.port, '127.0.0.1');
        sock.once('connect', () => {
          sock.write('PING\r\n');
          sock.once('data', (d: Buffer) => {
            sock.destroy();
            resolve(d.toString().startsWith('+PONG'));
          });
        });
        sock.once('error', () => resolve(false));
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} not answering`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: an outage, not a polite shutdown. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}
