import { tempSqliteUrl } from './helpers/databases';
import { freePort } from './helpers/process';
import { startTestRelay } from './helpers/relay';
import {
  describeWithRedis,
  metricValue,
  PrivateRedis,
  startCluster,
  uniquePrefix,
  type Cluster,
  type ClusterNode,
} from './helpers/cluster';
import { closeAll, connect, eventually, sleep, type Client } from './helpers/ws';

/**
 * Redis dies under two relay processes (a private redis-server, SIGKILLed) and comes back on the
 * same port. Meanwhile each process keeps relaying among its own clients; afterwards
 * cross-process delivery resumes by itself, and a delete made during the outage catches up.
 */
describeWithRedis('cluster bus outage (private redis-server killed and restarted)', (redis) => {
  let server: PrivateRedis;
  let cluster: Cluster;
  let a: ClusterNode;
  let b: ClusterNode;
  const clients: Client[] = [];
  const texts = (c: Client) => c.frames.map((f) => f.data.toString());

  beforeAll(async () => {
    redis(); // fails the suite when Redis is required but not runnable
    server = await PrivateRedis.start();
    cluster = await startCluster(2, {
      databaseUrl: tempSqliteUrl('cluster-outage'),
      redisUrl: server.url,
      prefix: uniquePrefix('outage'),
    });
    [a, b] = cluster.nodes;
  }, 120000);
  afterAll(async () => {
    await closeAll(clients);
    await cluster?.stop();
    await server?.down();
  }, 60000);

  it('keeps same-process delivery during the outage and resumes cross-process delivery after it', async () => {
    const ep = await a.createEndpoint('outage');
    const doomed = await a.createEndpoint('deleted-during-outage');
    const a1 = await a.connect(ep, 'a1');
    const a2 = await a.connect(ep, 'a2');
    const b1 = await b.connect(ep, 'b1');
    const h1 = await b.connect(doomed, 'h1');
    clients.push(a1, a2, b1, h1);

    await a1.send('before', false);
    await b1.waitForCount(1, 10000);
    expect(texts(b1)).toEqual(['before']);

    await server.down();
    for (const node of [a, b])
      await eventually(
        async () => metricValue(await node.metrics(), 'relay_bus_connected'),
        (v) => v === 0,
        { timeoutMs: 10000, what: `${node.label} sees the bus down` },
      );

    a1.frames.length = a2.frames.length = b1.frames.length = 0;
    const during = Array.from({ length: 10 }, (_, i) => `during-${i}`);
    for (const t of during) await a1.send(t, false);
    await a2.waitForCount(during.length, 10000);
    expect(texts(a2)).toEqual(during);

    // What the outage loses, as documented: frames for other processes, and the delete event.
    expect((await a.request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(204);
    await sleep(1500); // several failed reconnect attempts
    expect(texts(b1)).toEqual([]);
    expect(h1.isOpen).toBe(true);
    for (const node of [a, b]) {
      expect((await fetch(`http://127.0.0.1:${node.port}/health`)).status).toBe(200);
      expect(node.proc.child.exitCode).toBeNull();
    }
    const metricsA = await a.metrics();
    expect(metricValue(metricsA, 'relay_bus_publish_dropped_total')).toBeGreaterThanOrEqual(during.length);
    expect(metricValue(metricsA, 'relay_bus_control_dropped_total')).toBe(1);

    await server.up();
    // The first frames after the restart may still meet a process that has not reconnected.
    await eventually(
      async () => {
        await a1.send('probe', false);
        await sleep(100);
        return texts(b1).includes('probe');
      },
      (seen) => seen,
      { timeoutMs: 20000, intervalMs: 0, what: 'cross-process delivery after Redis is back' },
    );
    // Once reconnected: exact, ordered, both ways.
    await sleep(300);
    a1.frames.length = b1.frames.length = 0;
    const after = Array.from({ length: 20 }, (_, i) => `after-${i}`);
    for (const t of after) await a1.send(t, false);
    await b1.send('from-b', false);
    await b1.waitForCount(after.length, 10000);
    await a1.waitForCount(1, 10000);
    await sleep(200);
    expect(texts(b1)).toEqual(after);
    expect(texts(a1)).toEqual(['from-b']);

    // Process b re-checked its endpoints on reconnecting and closed the one deleted meanwhile.
    expect((await h1.waitClosed(10000)).code).toBe(4404);

    for (const node of [a, b]) {
      const m = await node.metrics();
      expect(metricValue(m, 'relay_bus_connected')).toBe(1);
      expect(metricValue(m, 'relay_bus_disconnects_total')).toBe(1);
      // Logged once per outage, however many reconnect attempts failed.
      const downLogs = node.proc
        .stdout()
        .split('\n')
        .filter((l) => l.includes('cluster bus down'));
      expect(downLogs).toHaveLength(1);
      expect(
        node.proc
          .stdout()
          .split('\n')
          .filter((l) => l.includes('cluster bus reconnected')),
      ).toHaveLength(1);
    }
  }, 90000);
});

describeWithRedis('cluster bus: Redis down when the relay starts', (redis) => {
  it('starts and relays locally without Redis, then joins the bus once Redis appears', async () => {
    redis();
    const port = await freePort();
    const t = await startTestRelay(tempSqliteUrl('bus-late'), {
      STATS_MODE: 'batched',
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_PREFIX: uniquePrefix('late'),
    });
    let late: PrivateRedis | undefined;
    const clients: Client[] = [];
    try {
      const ep = await t.createEndpoint('late');
      const c1 = await connect(t.wsUrl(ep.id, ep.token), {}, 'c1');
      const c2 = await connect(t.wsUrl(ep.id, ep.token), {}, 'c2');
      clients.push(c1, c2);
      await c1.send('local only', false);
      await c2.waitForCount(1);
      expect(t.relay.bus.counters.connected).toBe(0);
      expect(t.relay.bus.counters.publishDropped).toBe(1);

      late = new PrivateRedis(port);
      await late.up();
      await eventually(
        async () => t.relay.bus.counters.connected,
        (v) => v === 1,
        { timeoutMs: 15000, what: 'bus connected after Redis appeared' },
      );
      await c1.send('via the bus too', false);
      await c2.waitForCount(2);
      await eventually(
        async () => t.relay.bus.counters.published,
        (n) => n === 1,
        { what: 'frame published once Redis is up' },
      );
      expect(c2.frames.map((f) => f.data.toString())).toEqual(['local only', 'via the bus too']);
    } finally {
      await closeAll(clients);
      await t.stop();
      await late?.down();
    }
  }, 60000);
});
