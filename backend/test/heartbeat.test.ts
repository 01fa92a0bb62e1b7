import { eachTarget } from './helpers/databases';
import { useRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

const INTERVAL = 200;
const TERMINATIONS = 'relay_heartbeat_terminations_total';

eachTarget('heartbeat', (target) => {
  const relay = useRelay(target, { HEARTBEAT_INTERVAL_MS: String(INTERVAL) });
  let clients: Client[] = [];
  afterEach(async () => {
    await closeAll(clients);
    clients = [];
  });

  /** A fresh endpoint with `live` answering clients (each test owns its sockets and counts). */
  const setup = async (t: TestRelay, live: number) => {
    const ep = await t.createEndpoint('hb');
    const alive: Client[] = [];
    for (let i = 0; i < live; i++) alive.push(await connect(t.wsUrl(ep.id, ep.token), {}, `alive${i}`));
    clients.push(...alive);
    return { ep, alive };
  };
  const mute = async (t: TestRelay, ep: CreatedEndpoint, label: string) => {
    const c = await connect(t.wsUrl(ep.id, ep.token), { autoPong: false }, label);
    clients.push(c);
    return c;
  };

  it('publishes the slots it runs with: HEARTBEAT_SLOTS cut to one slot per 10 ms of the interval', async () => {
    expect(await relay().metric('relay_heartbeat_slots')).toBe(INTERVAL / 10);
  });

  it('terminates a client that stops answering pings after one unanswered ping, counts it, and cleans it up everywhere', async () => {
    const t = relay();
    const { ep, alive } = await setup(t, 1);
    const terminationsBefore = await t.metric(TERMINATIONS);
    const m = await mute(t, ep, 'mute');
    // Read at once: the heartbeat terminates the mute socket 200-400 ms after it connects, so a
    // poll of the stats for two *current* connections races it on a loaded machine (CI saw the
    // poll lose). The server registers a socket before the client sees the upgrade complete.
    const serverSide = [...t.relay.connections.sockets()];
    expect(t.relay.connections.count(ep.id)).toBe(2);
    await eventually(
      () => t.stats(ep.id),
      (s) => s.totalConnections === 2,
      { what: 'two connections counted' },
    );

    const closed = await m.waitClosed(INTERVAL * 20);
    // One tick pings it, the next finds the pong missing and terminates: exactly one ping seen,
    // and no close frame (terminate(), not close()).
    expect(m.pings).toBe(1);
    expect(closed.code).toBe(1006);
    expect(alive[0].isOpen).toBe(true);
    expect(alive[0].pings).toBeGreaterThanOrEqual(1);

    // Gone from the connection manager (the server sees the close a moment after the client)...
    await eventually(
      async () => t.relay.connections.count(ep.id),
      (n) => n === 1,
      { timeoutMs: 2000, what: 'count 1' },
    );
    // The survivor is one of the sockets the server had before, not a replacement.
    expect(serverSide).toEqual(expect.arrayContaining([...t.relay.connections.sockets()]));
    // ...counted exactly once as a heartbeat termination...
    expect((await t.metric(TERMINATIONS)) - terminationsBefore).toBe(1);
    // ...and the stats say so.
    await eventually(
      () => t.stats(ep.id),
      (s) => s.currentConnections === 1 && s.totalConnections === 2,
      { what: 'currentConnections back to 1 of 2' },
    );
  });

  it('keeps a client that answers pings through many intervals, and it still relays', async () => {
    const t = relay();
    const { ep, alive } = await setup(t, 1);
    const terminationsBefore = await t.metric(TERMINATIONS);
    // Five pings: each after the previous one was answered, or the socket would be gone.
    await alive[0].waitFor(() => alive[0].pings >= 5, INTERVAL * 40, '5 pings');
    expect(alive[0].isOpen).toBe(true);
    expect(t.relay.connections.count(ep.id)).toBe(1);
    expect(await t.metric(TERMINATIONS)).toBe(terminationsBefore);

    const peer = await connect(t.wsUrl(ep.id, ep.token), {}, 'peer');
    clients.push(peer);
    await peer.send('still here', false);
    await alive[0].waitForCount(1);
    expect(alive[0].frames.map((f) => f.data.toString())).toEqual(['still here']);
    await eventually(
      () => t.stats(ep.id),
      (s) => s.currentConnections === 2 && s.totalConnections === 2 && s.totalMessages === 1,
      { what: 'two live clients, one message' },
    );
  });

  it('terminates several mute clients at once without touching the live ones', async () => {
    const t = relay();
    const { ep, alive } = await setup(t, 2);
    const terminationsBefore = await t.metric(TERMINATIONS);
    const mutes = await Promise.all([1, 2, 3].map((i) => mute(t, ep, `mute${i}`)));
    const closes = await Promise.all(mutes.map((m) => m.waitClosed(INTERVAL * 20)));
    expect(closes.map((c) => c.code)).toEqual([1006, 1006, 1006]);
    expect(alive.map((c) => c.isOpen)).toEqual([true, true]);
    await eventually(
      async () => t.relay.connections.count(ep.id),
      (n) => n === 2,
      { timeoutMs: 2000, what: 'count 2' },
    );
    expect((await t.metric(TERMINATIONS)) - terminationsBefore).toBe(3);
    await eventually(
      () => t.stats(ep.id),
      (s) => s.currentConnections === 2 && s.totalConnections === 5,
      { what: 'currentConnections 2 of 5' },
    );
  });
});
