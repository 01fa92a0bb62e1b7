import { databases } from './helpers/databases';
import { useRelay, type CreatedEndpoint } from './helpers/relay';
import { closeAll, connect, eventually, sleep, type Client } from './helpers/ws';

const INTERVAL = 200;

describe.each(databases())('heartbeat on $name', (db) => {
  const relay = useRelay(db, { HEARTBEAT_INTERVAL_MS: String(INTERVAL) });
  let ep: CreatedEndpoint;
  const clients: Client[] = [];
  afterAll(() => closeAll(clients));

  beforeAll(async () => {
    ep = await relay().createEndpoint('hb');
  });

  it('terminates a client that stops answering pings after about two intervals and cleans it up everywhere', async () => {
    const t = relay();
    const alive = await connect(t.wsUrl(ep.id, ep.token), {}, 'alive');
    clients.push(alive);

    const started = Date.now();
    const mute = await connect(t.wsUrl(ep.id, ep.token), { autoPong: false }, 'mute');
    clients.push(mute);
    await eventually(
      () => t.stats(ep.id),
      (s) => s.currentConnections === 2,
      { what: 'two connections counted' },
    );
    const serverSide = [...t.relay.connections.sockets()];
    expect(serverSide).toHaveLength(2);

    const closed = await mute.waitClosed(INTERVAL * 8);
    const elapsed = Date.now() - started;
    // Pinged once, missed the pong, terminated on the next tick: between 1 and ~3 intervals.
    expect(mute.pings).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeGreaterThanOrEqual(INTERVAL * 0.75);
    expect(elapsed).toBeLessThan(INTERVAL * 5);
    expect(closed.code).toBe(1006); // terminate(): no close frame

    // Gone from the connection manager (the server sees the close a moment after the client)...
    await eventually(
      async () => t.relay.connections.count(ep.id),
      (n) => n === 1,
      { timeoutMs: 2000, what: 'count 1' },
    );
    const remaining = [...t.relay.connections.sockets()];
    expect(remaining).toHaveLength(1);
    expect(serverSide).toContain(remaining[0]);
    // ...and the stats say so.
    const stats = await eventually(
      () => t.stats(ep.id),
      (s) => s.currentConnections === 1,
      {
        what: 'currentConnections back to 1',
      },
    );
    expect(stats).toMatchObject({ currentConnections: 1, totalConnections: 2 });
  });

  it('keeps a client that answers pings through many intervals, and it still relays', async () => {
    const t = relay();
    const alive = clients[0];
    const pingsBefore = alive.pings;
    await sleep(INTERVAL * 6);
    expect(alive.isOpen).toBe(true);
    expect(alive.pings - pingsBefore).toBeGreaterThanOrEqual(4);
    expect(t.relay.connections.count(ep.id)).toBe(1);

    const peer = await connect(t.wsUrl(ep.id, ep.token), {}, 'peer');
    clients.push(peer);
    await peer.send('still here', false);
    await alive.waitForCount(1);
    expect(alive.frames.map((f) => f.data.toString())).toEqual(['still here']);
    expect(await t.stats(ep.id)).toMatchObject({ currentConnections: 2, totalConnections: 3 });
  });

  it('terminates several mute clients at once without touching the live ones', async () => {
    const t = relay();
    const mutes = await Promise.all(
      [1, 2, 3].map((i) => connect(t.wsUrl(ep.id, ep.token), { autoPong: false }, `mute${i}`)),
    );
    clients.push(...mutes);
    await Promise.all(mutes.map((m) => m.waitClosed(INTERVAL * 8)));
    expect(clients[0].isOpen).toBe(true);
    expect(clients[2].isOpen).toBe(true);
    await eventually(
      async () => t.relay.connections.count(ep.id),
      (n) => n === 2,
      { timeoutMs: 2000, what: 'count 2' },
    );
    await eventually(
      () => t.stats(ep.id),
      (s) => s.currentConnections === 2,
      { what: 'currentConnections 2' },
    );
    expect(await t.stats(ep.id)).toMatchObject({ currentConnections: 2, totalConnections: 6 });
  });
});
