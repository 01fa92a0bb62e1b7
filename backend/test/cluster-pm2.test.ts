import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILT_MAIN } from './helpers/built-relay';
import { REPO_ROOT, tempSqliteUrl } from './helpers/databases';
import { ClusterNode, connectClient, describeWithRedis, uniquePrefix } from './helpers/cluster';
import { spawnProcess } from './helpers/process';
import { freePort, waitHealthy, type RelayProcess } from './helpers/process';
import { closeAll, eventually, type Client } from './helpers/ws';

/**
 * `pnpm start:cluster` as production runs it: pm2-runtime, the ecosystem file's relay-cluster
 * app, two workers sharing one port (the OS balances connections), the built relay. A client
 * on one worker and a client on the other exchange frames; SIGTERM stops it all cleanly.
 * Needs dist/ (`npx tsc -p tsconfig.build.json`; CI builds before testing).
 */
describeWithRedis('pnpm start:cluster (PM2 cluster mode, 2 workers)', (redis) => {
  let pm2: RelayProcess;
  let port: number;
  let node: ClusterNode;
  let pm2Home: string;
  const clients: Client[] = [];
  const apiKey = 'pm2-cluster-test-key-0123456789';

  beforeAll(async () => {
    redis();
    if (!fs.existsSync(BUILT_MAIN))
      throw new Error(`${BUILT_MAIN} missing: run \`npx tsc -p tsconfig.build.json\` first`);
    port = await freePort();
    // A PM2 home of its own: no daemon, dump or log shared with anything else on the machine.
    pm2Home = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-pm2-'));
    const script = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).scripts[
      'start:cluster'
    ] as string;
    const [bin, ...args] = script.split(' ');
    pm2 = spawnProcess(path.join(REPO_ROOT, 'node_modules/.bin', bin), args, {
      PM2_HOME: pm2Home,
      RELAY_INSTANCES: '2',
      PORT: String(port),
      DATABASE_URL: tempSqliteUrl('pm2'),
      REDIS_URL: redis().url,
      REDIS_PREFIX: uniquePrefix('pm2'),
      API_KEY: apiKey,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
    });
    node = new ClusterNode(pm2, port, apiKey, 'pm2');
    await waitHealthy(port, pm2, 60000);
    // wait_ready: both workers sent 'ready' (migrated, listening) before PM2 calls them online.
    await eventually(
      async () => (pm2.stdout().match(/App \[relay-cluster:\d\] online/g) ?? []).length,
      (n) => n === 2,
      { timeoutMs: 60000, intervalMs: 100, what: 'two workers online' },
    );
  }, 120000);

  afterAll(async () => {
    await closeAll(clients);
    if (pm2 && pm2.child.exitCode === null && pm2.child.signalCode === null) {
      pm2.child.kill('SIGKILL');
      await pm2.exited;
    }
    if (pm2Home) fs.rmSync(pm2Home, { recursive: true, force: true });
  }, 30000);

  it('serves one relay from two workers (clients on different workers exchange frames), then stops cleanly on SIGTERM', async () => {
    // The workers' own log lines reach pm2-runtime's stdout through PM2's log forwarding, not
    // the IPC channel that says 'online', so they can trail it: wait for them, not read once.
    await eventually(
      async () =>
        pm2
          .stdout()
          .split('\n')
          .filter((l) => l.includes('"relay listening"')).length,
      (n) => n === 2,
      { timeoutMs: 10000, intervalMs: 50, what: 'both workers logged "relay listening"' },
    );
    const ep = await node.createEndpoint('pm2');
    const url = `ws://127.0.0.1:${port}/ws/${ep.id}?token=${ep.token}`;
    // The OS spreads connections over the workers: open until one lands on each.
    const byNode = new Map<string, Client>();
    for (let i = 0; i < 40 && byNode.size < 2; i++) {
      const c = await connectClient(url, `c${i}`);
      clients.push(c);
      expect(c.node).toMatch(/^[0-9a-f]{16}$/);
      if (!byNode.has(c.node!)) byNode.set(c.node!, c);
    }
    expect(byNode.size).toBe(2);
    const [x, y] = [...byNode.values()];
    for (const c of clients) c.frames.length = 0;

    await x.send('hello from one worker', false);
    await y.waitFor((f) => f.some((m) => m.data.toString() === 'hello from one worker'), 10000, 'text');
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    await y.send(bytes, true);
    await x.waitFor((f) => f.some((m) => m.isBinary && m.data.equals(bytes)), 10000, 'binary');

    // One life cycle in one test, so no shuffled order can stop the cluster before it is used:
    // SIGTERM stops both workers cleanly and the port closes.
    await closeAll(clients);
    pm2.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      pm2.exited,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error('pm2-runtime still running')), 30000)),
      ),
    ]);
    clearTimeout(timer);
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(
      pm2
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"message":"stopped"')),
    ).toHaveLength(2);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow(/fetch failed/);
  }, 60000);
});
