import { parsePrometheus, relayFigures } from '../../runner/relay-metrics';
import { databases } from './helpers/databases';
import { startTestRelay, useRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually } from './helpers/ws';

async function scrape(t: TestRelay, auth = true) {
  const res = await fetch(`${t.base}/metrics`, {
    headers: auth ? { authorization: `Bearer ${t.apiKey}` } : {},
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

describe.each(databases().map((db) => [db.name, db] as const))('/metrics on %s', (_name, db) => {
  const relay = useRelay(db, { STATS_MODE: 'immediate' });

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
    // Immediate mode: one awaited stats UPDATE per frame.
    expect(f.db.operations.find((o) => o.model === 'EndpointStats' && o.operation === 'update')?.count).toBe(
      20,
    );
    expect(f.db.statementsByVerb.UPDATE).toBeGreaterThanOrEqual(20);
    expect(after).toMatch(new RegExp(`^relay_connections\\{endpoint="${ep.id}"\\} 3$`, 'm'));
    await closeAll(clients);
  });

  test('the query-timing extension records model and raw queries', async () => {
    const t = relay();
    const before = (await scrape(t)).text;
    await t.relay.db.prisma.$queryRawUnsafe('SELECT 1');
    await t.relay.db.prisma.endpoint.count();
    const f = relayFigures(before, (await scrape(t)).text);
    const ops = f.db.operations.map((o) => `${o.model}.${o.operation}`);
    expect(ops).toEqual(expect.arrayContaining(['raw.$queryRawUnsafe', 'Endpoint.count']));
    expect(f.db.statementsByVerb.SELECT).toBeGreaterThanOrEqual(2);
  });
});

test('METRICS_PUBLIC=1 serves /metrics without the key', async () => {
  const t = await startTestRelay(databases()[0].url(), { METRICS_PUBLIC: '1' });
  try {
    expect((await scrape(t, false)).status).toBe(200);
    const r = await fetch(`${t.base}/api/endpoints`);
    expect(r.status).toBe(401);
  } finally {
    await t.stop();
  }
});
