import { eachTarget } from './helpers/databases';
import { relayBehindOutage } from './helpers/db-outage';
import { within } from './helpers/process';
import { connect, eventually, expectRefused, type Client } from './helpers/ws';

/** A WebSocket upgrade needs the endpoint's token hash from the database. */
eachTarget('upgrades across a database outage', ({ db, statsMode: mode }) => {
  // No token cache: a cached endpoint's clients reconnect without the database (token-cache.test.ts).
  const {
    relay: relayOf,
    outage: outageOf,
    clients,
  } = relayBehindOutage(db, {
    STATS_MODE: mode,
    STATS_FLUSH_INTERVAL_MS: '100',
    TOKEN_CACHE_SIZE: '0',
  });

  it('refuses an upgrade during the outage with 503, accepts one once the database is back', async () => {
    const relay = relayOf();
    const ep = await relay.createEndpoint('upgrade');
    const url = relay.wsUrl(ep.id, ep.token);
    const early = await connect(url, {}, 'early');
    clients.push(early);
    // Its connect is written (immediate) or flushed (batched) before the outage cuts in.
    await eventually(
      () => relay.relay.db.prisma.endpointStats.findUnique({ where: { endpointId: ep.id } }),
      (row) => row?.totalConnections === 1,
      { what: 'the first connect persisted', timeoutMs: 10_000, intervalMs: 50 },
    );

    await outageOf().begin();
    // A clear refusal, not a hang (the pool gives up after its acquire timeout).
    const refused = await within(expectRefused(url), 15_000, 'upgrade neither accepted nor refused');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: 'database unavailable' });
    await outageOf().end();

    // The pool reconnects on its own; the first upgrade that gets through must be a real one.
    const late = await eventually(
      () => connect(url, {}, 'late').catch((err: Error) => err),
      (c) => !(c instanceof Error),
      { what: 'an accepted upgrade after recovery', timeoutMs: 20_000, intervalMs: 200 },
    );
    const lateClient = late as Client;
    clients.push(lateClient);
    await lateClient.send('hello from late');
    await early.waitForCount(1);
    expect(early.frames.map((f) => f.data.toString())).toEqual(['hello from late']);
    await eventually(
      () => relay.stats(ep.id),
      (s) => s.currentConnections === 2 && s.totalConnections === 2,
      { what: 'both connections counted', timeoutMs: 10_000, intervalMs: 100 },
    );
  });
});
