import { databases } from './helpers/databases';
import { useRelay, type CreatedEndpoint } from './helpers/relay';
import { closeAll, connect, eventually, expectRefused, sleep, type Client } from './helpers/ws';

describe.each(databases())('DELETE /api/endpoints/:id on $name', (db) => {
  const relay = useRelay(db);
  let doomed: CreatedEndpoint;
  let kept: CreatedEndpoint;
  let d1: Client;
  let d2: Client;
  let k1: Client;
  let k2: Client;

  beforeAll(async () => {
    const t = relay();
    doomed = await t.createEndpoint('del-doomed');
    kept = await t.createEndpoint('del-kept');
    d1 = await connect(t.wsUrl(doomed.id, doomed.token), {}, 'd1');
    d2 = await connect(t.wsUrl(doomed.id, doomed.token), {}, 'd2');
    k1 = await connect(t.wsUrl(kept.id, kept.token), {}, 'k1');
    k2 = await connect(t.wsUrl(kept.id, kept.token), {}, 'k2');

    // Give the doomed endpoint data in every table: a reading, a rule and the alert it fires.
    const rule = await t.request('POST', `/api/endpoints/${doomed.id}/alert-rules`, {
      body: { field: 't', operator: '>', threshold: 0 },
    });
    expect(rule.status).toBe(201);
    await d1.send(JSON.stringify({ type: 'device_data', deviceId: 'dev', data: { t: 1 } }), false);
    await d2.waitFor((f) => f.some((x) => x.data.toString().includes('"alert"')), 5000, 'alert');
    await eventually(
      () => t.stats(kept.id),
      (s) => s.currentConnections === 2,
      { what: 'kept has 2' },
    );
    await eventually(
      () => t.stats(doomed.id),
      (s) => s.currentConnections === 2,
      { what: 'doomed has 2' },
    );
  });
  afterAll(() => closeAll([d1, d2, k1, k2].filter(Boolean)));

  it('answers 204 and closes every socket of that endpoint with 4404', async () => {
    const res = await relay().request('DELETE', `/api/endpoints/${doomed.id}`);
    expect(res.status).toBe(204);
    const [c1, c2] = await Promise.all([d1.waitClosed(), d2.waitClosed()]);
    expect(c1.code).toBe(4404);
    expect(c2.code).toBe(4404);
    expect(relay().relay.connections.count(doomed.id)).toBe(0);
  });

  it('leaves other endpoints’ sockets open and relaying, with their stats intact', async () => {
    const t = relay();
    expect(k1.isOpen).toBe(true);
    expect(k2.isOpen).toBe(true);
    await k1.send('still-here', false);
    await k2.waitForCount(1);
    expect(k2.frames.map((f) => f.data.toString())).toEqual(['still-here']);
    expect(t.relay.connections.count(kept.id)).toBe(2);
    await sleep(200); // let any stray disconnect writes of the deleted endpoint land
    expect(await t.stats(kept.id)).toMatchObject({
      currentConnections: 2,
      totalConnections: 2,
      totalMessages: 1,
    });
  });

  it('removes the endpoint’s data: 404 for it and its stats, no rows left in any table', async () => {
    const t = relay();
    expect((await t.request('GET', `/api/endpoints/${doomed.id}`)).status).toBe(404);
    expect((await t.request('GET', `/api/endpoints/${doomed.id}/stats`)).status).toBe(404);
    expect((await t.request('GET', `/api/endpoints/${doomed.id}/alerts`)).status).toBe(404);
    expect((await t.request('GET', `/api/endpoints/${doomed.id}/devices/dev/data`)).status).toBe(404);
    const p = t.relay.db.prisma;
    const where = { endpointId: doomed.id };
    expect(
      await Promise.all([
        p.endpoint.count({ where: { id: doomed.id } }),
        p.endpointStats.count({ where }),
        p.deviceData.count({ where }),
        p.alertRule.count({ where }),
        p.alert.count({ where }),
      ]),
    ).toEqual([0, 0, 0, 0, 0]);
  });

  it('no longer accepts its token: 404 at upgrade', async () => {
    const res = await expectRefused(relay().wsUrl(doomed.id, doomed.token));
    expect(res.status).toBe(404);
  });

  it('answers 404 to a second delete', async () => {
    expect((await relay().request('DELETE', `/api/endpoints/${doomed.id}`)).status).toBe(404);
  });

  // Race: an upgrade whose token check read the endpoint just before the delete committed is
  // accepted after the delete closed the endpoint's sockets, and then lives on, attached to an
  // endpoint that no longer exists. Connect attempts are fired continuously across the delete.
  it('leaves no socket attached to a deleted endpoint when clients are connecting during the delete', async () => {
    const t = relay();
    const racing = await t.createEndpoint('del-race');
    const attempts: Array<Promise<Client | null>> = [];
    let deleting = true;
    const firing = (async () => {
      while (deleting) {
        attempts.push(
          connect(t.wsUrl(racing.id, racing.token), {}, `race${attempts.length}`).catch(() => null),
        );
        await sleep(1);
      }
    })();
    await sleep(20);
    const del = await t.request('DELETE', `/api/endpoints/${racing.id}`);
    await sleep(20);
    deleting = false;
    await firing;
    expect(del.status).toBe(204);
    const clients = (await Promise.all(attempts)).filter((c): c is Client => c !== null);
    expect(clients.length).toBeGreaterThan(0);
    // Every socket that did open must be closed by the relay (4404); none may linger.
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline && clients.some((c) => c.isOpen)) await sleep(20);
    const lingering = clients.filter((c) => c.isOpen).length;
    const registered = t.relay.connections.count(racing.id);
    await closeAll(clients);
    expect({ opened: clients.length, lingering, registered }).toEqual({
      opened: clients.length,
      lingering: 0,
      registered: 0,
    });
  });
});
