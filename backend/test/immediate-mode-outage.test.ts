import { eachDb } from './helpers/databases';
import { metricValue, relayBehindOutage } from './helpers/db-outage';
import { connect, eventually, type Client } from './helpers/ws';

const ERRORS = 'relay_db_query_errors_total{model="EndpointStats",operation="update"}';

/**
 * The legacy STATS_MODE=immediate awaits one stats write per frame before forwarding it. With
 * the database refusing those writes every frame must still reach every peer, once and in
 * order, and every refused write must show in /metrics.
 */
eachDb('immediate mode with failing stats writes', (db) => {
  const { relay: relayOf, outage: outageOf, clients } = relayBehindOutage(db, { STATS_MODE: 'immediate' });

  it('forwards every frame to every peer while the database is down, and counts each failed write', async () => {
    const relay = relayOf();
    const ep = await relay.createEndpoint('imm-outage');
    for (const label of ['a', 'b', 'c']) clients.push(await connect(relay.wsUrl(ep.id, ep.token), {}, label));
    const [a, b, c] = clients;
    // The connect writes land before the outage, so the only refused writes are the frames'.
    await eventually(
      () => relay.stats(ep.id),
      (s) => s.currentConnections === 3,
      { what: '3 connects written', timeoutMs: 10_000, intervalMs: 50 },
    );
    const errorsBefore = metricValue((await relay.request('GET', '/metrics')).text, ERRORS);

    await outageOf().begin();
    const fromA = Array.from({ length: 8 }, (_, i) => `a-${i}`);
    const fromB = Array.from({ length: 5 }, (_, i) => `b-${i}`);
    for (const m of fromA) await a.send(m);
    for (const m of fromB) await b.send(m);
    const texts = (client: Client) => client.frames.map((f) => f.data.toString());
    const from = (client: Client, prefix: string) => texts(client).filter((s) => s.startsWith(prefix));
    await c.waitForCount(fromA.length + fromB.length, 20_000);
    await b.waitForCount(fromA.length, 20_000);
    await a.waitForCount(fromB.length, 20_000);
    // Exactly once each, in the order sent, and never back to the sender.
    expect(from(c, 'a-')).toEqual(fromA);
    expect(from(c, 'b-')).toEqual(fromB);
    expect(texts(b)).toEqual(fromA);
    expect(texts(a)).toEqual(fromB);
    expect(texts(c)).toHaveLength(fromA.length + fromB.length);

    // One refused UPDATE per frame, each one counted.
    const text = await eventually(
      async () => (await relay.request('GET', '/metrics')).text,
      (s) => metricValue(s, ERRORS) >= errorsBefore + fromA.length + fromB.length,
      { what: 'failed stats writes in /metrics', timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(metricValue(text, ERRORS)).toBe(errorsBefore + fromA.length + fromB.length);
    expect(metricValue(text, 'relay_deliveries_total')).toBe(2 * (fromA.length + fromB.length));
    await outageOf().end();

    // The writes refused during the outage are lost (the legacy behaviour); new ones land again.
    await a.send('after');
    await b.waitForCount(fromA.length + 1);
    await eventually(
      () => relay.stats(ep.id),
      (s) => s.totalMessages === 1 && s.currentConnections === 3,
      { what: 'the post-outage message counted', timeoutMs: 15_000, intervalMs: 100 },
    );
  });
});
