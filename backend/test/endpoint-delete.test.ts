import { EndpointService } from '../src/services/endpoint.service';
import { eachTarget } from './helpers/databases';
import { useRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, expectRefused, type Client } from './helpers/ws';

eachTarget('DELETE /api/endpoints/:id', (target) => {
  const relay = useRelay(target);
  let clients: Client[] = [];
  afterEach(async () => {
    jest.restoreAllMocks();
    await closeAll(clients);
    clients = [];
  });

  const rowCounts = (t: TestRelay, endpointId: string) => {
    const p = t.relay.db.prisma;
    const where = { endpointId };
    return Promise.all([
      p.endpoint.count({ where: { id: endpointId } }),
      p.endpointStats.count({ where }),
      p.deviceData.count({ where }),
      p.alertRule.count({ where }),
      p.alert.count({ where }),
    ]);
  };

  /**
   * A doomed endpoint with two clients and a row in every table (endpoint, stats, a reading,
   * a rule and the alert it fired, all checked to be there), beside a kept one with two
   * clients; the doomed one is not deleted yet.
   */
  const scenario = async (t: TestRelay) => {
    const doomed = await t.createEndpoint('del-doomed');
    const kept = await t.createEndpoint('del-kept');
    const open = async (ep: CreatedEndpoint, label: string) => {
      const c = await connect(t.wsUrl(ep.id, ep.token), {}, label);
      clients.push(c);
      return c;
    };
    const [d1, d2, k1, k2] = [
      await open(doomed, 'd1'),
      await open(doomed, 'd2'),
      await open(kept, 'k1'),
      await open(kept, 'k2'),
    ];
    const rule = await t.request('POST', `/api/endpoints/${doomed.id}/alert-rules`, {
      body: { field: 't', operator: '>', threshold: 0 },
    });
    expect(rule.status).toBe(201);
    await d1.send(JSON.stringify({ type: 'device_data', deviceId: 'dev', data: { t: 1 } }), false);
    await d2.waitFor((f) => f.some((x) => x.data.toString().includes('"alert"')), 5000, 'alert');
    // Batched mode writes the reading on its next flush: wait until every table has its row.
    await eventually(
      () => rowCounts(t, doomed.id),
      (n) => n.join() === '1,1,1,1,1',
      { what: 'one row of the doomed endpoint in every table' },
    );
    for (const ep of [kept, doomed])
      await eventually(
        () => t.stats(ep.id),
        (s) => s.currentConnections === 2,
        { what: `${ep.name} has 2` },
      );
    return { doomed, kept, d1, d2, k1, k2 };
  };

  it('answers 204 and closes every socket of that endpoint with 4404', async () => {
    const t = relay();
    const { doomed, d1, d2 } = await scenario(t);
    const res = await t.request('DELETE', `/api/endpoints/${doomed.id}`);
    expect(res.status).toBe(204);
    const [c1, c2] = await Promise.all([d1.waitClosed(), d2.waitClosed()]);
    expect([c1.code, c2.code]).toEqual([4404, 4404]);
    expect(t.relay.connections.count(doomed.id)).toBe(0);
  });

  it('leaves other endpoints’ sockets open and relaying, with their stats intact', async () => {
    const t = relay();
    const { doomed, kept, d1, k1, k2 } = await scenario(t);
    expect((await t.request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(204);
    await d1.waitClosed();
    expect([k1.isOpen, k2.isOpen]).toEqual([true, true]);
    await k1.send('still-here', false);
    await k2.waitForCount(1);
    expect(k2.frames.map((f) => f.data.toString())).toEqual(['still-here']);
    expect(t.relay.connections.count(kept.id)).toBe(2);
    await eventually(
      () => t.stats(kept.id),
      (s) => s.totalMessages === 1,
      { what: 'kept endpoint counts its message' },
    );
    expect(await t.stats(kept.id)).toMatchObject({
      currentConnections: 2,
      totalConnections: 2,
      totalMessages: 1,
    });
  });

  it('removes the endpoint’s data: 404 for it and its stats, no rows left in any table', async () => {
    const t = relay();
    const { doomed } = await scenario(t);
    expect((await t.request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(204);
    for (const path of ['', '/stats', '/alerts', '/alert-rules', '/devices/dev/data'])
      expect([path, (await t.request('GET', `/api/endpoints/${doomed.id}${path}`)).status]).toEqual([
        path,
        404,
      ]);
    expect(await rowCounts(t, doomed.id)).toEqual([0, 0, 0, 0, 0]);
  });

  it('no longer accepts its token: 404 at upgrade, and a second delete is 404', async () => {
    const t = relay();
    const { doomed } = await scenario(t);
    expect((await t.request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(204);
    expect((await expectRefused(t.wsUrl(doomed.id, doomed.token))).status).toBe(404);
    expect((await t.request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(404);
  });

  // Race: an upgrade whose token check read the endpoint just before the delete committed is
  // completed after the delete closed the endpoint's sockets. The token check is held open
  // until the DELETE has answered, so the race happens on every run and every database.
  it('refuses (4404) and never registers a socket whose upgrade was authorised just before the delete', async () => {
    const t = relay();
    const racing = await t.createEndpoint('del-race');
    const original = EndpointService.prototype.checkToken;
    let checked!: () => void;
    const tokenChecked = new Promise<void>((r) => (checked = r));
    let release!: () => void;
    const deleted = new Promise<void>((r) => (release = r));
    jest.spyOn(EndpointService.prototype, 'checkToken').mockImplementationOnce(async function (
      this: EndpointService,
      ...args
    ) {
      const verdict = await original.apply(this, args);
      checked();
      await deleted;
      return verdict;
    });
    const openedBefore = t.relay.metrics.counters.connectionsOpened;

    const connecting = connect(t.wsUrl(racing.id, racing.token), {}, 'late').then((c) => {
      clients.push(c);
      return c;
    });
    await tokenChecked; // the endpoint existed and the token matched
    expect((await t.request('DELETE', `/api/endpoints/${racing.id}`)).status).toBe(204);
    release();

    const late = await connecting;
    expect((await late.waitClosed()).code).toBe(4404);
    expect(t.relay.connections.count(racing.id)).toBe(0);
    expect(t.relay.metrics.counters.connectionsOpened).toBe(openedBefore);
  });
});
