import { parsePrometheus, relayFigures } from '../../runner/relay-metrics';
import { eachTarget, tempSqliteUrl } from './helpers/databases';
import { startTestRelay, useRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually } from './helpers/ws';

async function scrape(t: TestRelay, auth = true) {
  const res = await fetch(`${t.base}/metrics`, {
    headers: auth ? { authorization: `Bearer ${t.apiKey}` } : {},
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

eachTarget('/metrics', (target) => {
  const relay = useRelay(target);

  test('is Prometheus text behind the API key', async () => {
    expect((await scrape(relay(), false)).status).toBe(401);
    const { status, type, text } = await scrape(relay());
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    // Every non-comment line parses; every relay series is declared with HELP and TYPE.
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(parsePrometheus(text)).toHaveLength(lines.length);
    for (const name of [
      'relay_frames_received_total',
      'relay_deliveries_total',
      'relay_forward_duration_seconds',
      'relay_db_query_duration_seconds',
      'relay_db_statements_total',
      'relay_connections',
      'nodejs_eventloop_lag_p99_seconds',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
  });

  test('series move with traffic: frames, deliveries, per-message stats writes, connections', async () => {
    const t = relay();
    const ep = await t.createEndpoint('metrics');
    const clients = await Promise.all([0, 1, 2].map(() => connect(t.wsUrl(ep.id, ep.token))));
    // The connect writes are not awaited by the handshake; let them land before the first scrape.
    await eventually(
      () => t.stats(ep.id),
      (s) => s.totalConnections === 3,
      { what: '3 connects recorded' },
    );
    const before = (await scrape(t)).text;
    for (let i = 0; i < 20; i++) await clients[0].send(`m${i}`);
    await clients[1].waitForCount(20);
    await clients[2].waitForCount(20);
    const after = (await scrape(t)).text;
    const f = relayFigures(before, after);
    expect(f.framesReceived).toBe(20);
    expect(f.deliveries).toBe(40);
    expect(f.forward.count).toBe(20);
    const statsUpdates =
      f.db.operations.find((o) => o.model === 'EndpointStats' && o.operation === 'update')?.count ?? 0;
    if (target.statsMode === 'immediate') {
      // One awaited stats UPDATE per frame, and nothing else wrote meanwhile.
      expect(statsUpdates).toBe(20);
      expect(f.db.statementsByVerb.UPDATE).toBe(20);
    } else {
      // Batched: no per-frame stats write; the counts reach the database in flush statements.
      expect(statsUpdates).toBe(0);
      expect(f.db.statementsByVerb.UPDATE ?? 0).toBeLessThan(20);
      expect(await t.stats(ep.id)).toMatchObject({ totalConnections: 3, totalMessages: 20 });
    }
    // A total, no per-endpoint label (that is opt-in: see metrics-labels.test.ts).
    expect(after).toMatch(/^relay_connections 3$/m);
    await closeAll(clients);
    // The disconnect writes land after the clients see the close; no later test may see them.
    await eventually(
      () => t.stats(ep.id),
      (s) => s.currentConnections === 0,
      { what: 'disconnects recorded' },
    );
  });

  test('the query-timing extension records model and raw queries', async () => {
    const t = relay();
    const before = (await scrape(t)).text;
    await t.relay.db.prisma.$queryRawUnsafe('SELECT 1');
    await t.relay.db.prisma.endpoint.count();
    const f = relayFigures(before, (await scrape(t)).text);
    const ops = f.db.operations.map((o) => `${o.model}.${o.operation}`);
    expect(ops).toEqual(expect.arrayContaining(['raw.$queryRawUnsafe', 'Endpoint.count']));
    // Nothing else reads while no client is connected: exactly the two statements issued.
    expect(f.db.statementsByVerb.SELECT).toBe(2);
  });
});

test('METRICS_PUBLIC=1 serves /metrics without the key', async () => {
  const t = await startTestRelay(tempSqliteUrl(), { METRICS_PUBLIC: '1' });
  try {
    expect((await scrape(t, false)).status).toBe(200);
    const r = await fetch(`${t.base}/api/endpoints`);
    expect(r.status).toBe(401);
  } finally {
    await t.stop();
  }
});
