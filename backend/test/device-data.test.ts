import { eachTarget } from './helpers/databases';
import { useRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, sleep, type Client } from './helpers/ws';

interface Row {
  id: number;
  deviceId: string;
  payload: Record<string, unknown>;
  createdAt: string;
}
interface AlertMsg {
  type: string;
  id: number;
  createdAt: string;
  ruleId: number;
  deviceId: string;
  value: number;
  endpointId: string;
}

const frame = (deviceId: unknown, data: unknown) => JSON.stringify({ type: 'device_data', deviceId, data });

/** Cached rules outlive every test here: only invalidation can make a rule change show. */
const RULES_CACHE_MS = 600_000;

eachTarget('device data and alerts', (target) => {
  const relay = useRelay(target, { ALERT_RULES_CACHE_MS: String(RULES_CACHE_MS) });
  let ep: CreatedEndpoint;
  let otherEp: CreatedEndpoint;
  let sender: Client;
  let peer1: Client;
  let peer2: Client;
  let outsider: Client;

  const dataOf = (t: TestRelay, deviceId: string, query = '', endpointId = ep.id) =>
    t.request<Row[]>(
      'GET',
      `/api/endpoints/${endpointId}/devices/${encodeURIComponent(deviceId)}/data${query}`,
    );
  const rowsOf = async (deviceId: string, query = '') => {
    const res = await dataOf(relay(), deviceId, query);
    if (res.status !== 200) throw new Error(`data query: ${res.status} ${res.text}`);
    return res.body;
  };
  const alertsIn = (c: Client) => c.json<AlertMsg>().filter((m) => m.type === 'alert');

  // Fresh endpoints and clients per test: every test sends the readings and rules it needs.
  beforeEach(async () => {
    const t = relay();
    [ep, otherEp] = await Promise.all([t.createEndpoint('dev'), t.createEndpoint('dev-other')]);
    [sender, peer1, peer2] = await Promise.all(
      ['sender', 'peer1', 'peer2'].map((label) => connect(t.wsUrl(ep.id, ep.token), {}, label)),
    );
    outsider = await connect(t.wsUrl(otherEp.id, otherEp.token), {}, 'outsider');
  });
  afterEach(() => closeAll([sender, peer1, peer2, outsider].filter(Boolean)));

  describe('storage', () => {
    const payloads = [1, 2, 3, 4, 5].map((seq) => ({
      seq,
      temperature: 20 + seq / 10,
      nested: {
        list: [1, 'two', { three: [3] }, null, true],
        unicode: 'ü✓🚀',
        deep: { deeper: { deepest: -0.5 } },
      },
      empty: {},
      none: null,
    }));

    it('forwards a device_data frame as-is and stores it', async () => {
      const text = frame('dev-1', payloads[0]);
      await sender.send(text, false);
      await Promise.all([peer1.waitForCount(1), peer2.waitForCount(1)]);
      for (const p of [peer1, peer2]) {
        expect(p.frames).toHaveLength(1);
        expect(p.frames[0].isBinary).toBe(false);
        expect(p.frames[0].data.toString('utf8')).toBe(text);
      }
      const rows = await eventually(
        () => rowsOf('dev-1'),
        (r) => r.length === 1,
        { what: 'one stored row' },
      );
      expect(rows[0]).toEqual({
        id: expect.any(Number),
        deviceId: 'dev-1',
        payload: payloads[0],
        createdAt: expect.any(String),
      });
      await sleep(100);
      expect(sender.frames).toHaveLength(0); // no echo, no error
      expect(outsider.frames).toHaveLength(0);
    });

    it('returns readings newest first, honours limit and from/to (inclusive, ISO or epoch ms)', async () => {
      for (const p of payloads) {
        await sleep(15); // distinct createdAt at millisecond precision
        await sender.send(frame('dev-1', p), false);
        await eventually(
          () => rowsOf('dev-1'),
          (r) => r.length === p.seq,
          { what: `${p.seq} rows` },
        );
      }
      const all = await rowsOf('dev-1');
      expect(all.map((r) => r.payload.seq)).toEqual([5, 4, 3, 2, 1]);
      expect(all.map((r) => r.payload)).toEqual([...payloads].reverse());
      const times = all.map((r) => Date.parse(r.createdAt));
      expect(new Set(times).size).toBe(5);
      for (let i = 1; i < times.length; i++) expect(times[i - 1]).toBeGreaterThan(times[i]);

      expect((await rowsOf('dev-1', '?limit=2')).map((r) => r.payload.seq)).toEqual([5, 4]);
      expect((await rowsOf('dev-1', '?limit=1000')).map((r) => r.payload.seq)).toEqual([5, 4, 3, 2, 1]);

      const at = (seq: number) => all.find((r) => r.payload.seq === seq)!.createdAt;
      const q = `?from=${encodeURIComponent(at(2))}&to=${encodeURIComponent(at(4))}`;
      expect((await rowsOf('dev-1', q)).map((r) => r.payload.seq)).toEqual([4, 3, 2]);
      expect((await rowsOf('dev-1', `?from=${Date.parse(at(4))}`)).map((r) => r.payload.seq)).toEqual([5, 4]);
      expect((await rowsOf('dev-1', `?to=${Date.parse(at(1))}`)).map((r) => r.payload.seq)).toEqual([1]);
      expect((await rowsOf('dev-1', `${q}&limit=2`)).map((r) => r.payload.seq)).toEqual([4, 3]);
      // The same instant written with a +02:00 offset selects the same rows.
      const plus2 = (iso: string) => {
        const d = new Date(Date.parse(iso) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
        return encodeURIComponent(d);
      };
      expect((await rowsOf('dev-1', `?from=${plus2(at(3))}`)).map((r) => r.payload.seq)).toEqual([5, 4, 3]);
      // from after to: nothing.
      expect(
        await rowsOf('dev-1', `?from=${encodeURIComponent(at(4))}&to=${encodeURIComponent(at(2))}`),
      ).toEqual([]);
    });

    it('keeps devices and endpoints apart', async () => {
      for (const seq of [1, 2]) await sender.send(frame('dev-1', { seq }), false);
      await sender.send(frame('dev-2', { seq: 99 }), false);
      await outsider.send(frame('dev-1', { seq: 1000 }), false);
      await eventually(
        () => rowsOf('dev-2'),
        (r) => r.length === 1,
        { what: 'dev-2 row' },
      );
      const t = relay();
      await eventually(
        async () => (await dataOf(t, 'dev-1', '', otherEp.id)).body,
        (r) => r.length === 1,
        { what: 'other endpoint row' },
      );
      await eventually(
        () => rowsOf('dev-1'),
        (r) => r.length === 2,
        { what: 'dev-1 rows' },
      );
      expect((await rowsOf('dev-1')).map((r) => r.payload.seq).sort()).toEqual([1, 2]);
      expect((await rowsOf('dev-2')).map((r) => r.payload.seq)).toEqual([99]);
      expect((await dataOf(t, 'dev-1', '', otherEp.id)).body.map((r) => r.payload.seq)).toEqual([1000]);
      expect(await rowsOf('never-seen')).toEqual([]);
    });

    it('stores and serves device ids with spaces, slashes, unicode, and at the 191-character limit', async () => {
      for (const deviceId of ['room 1/sensor#2?x=1', 'капteur-🚀', 'd'.repeat(191)]) {
        await sender.send(frame(deviceId, { id: deviceId }), false);
        const rows = await eventually(
          () => rowsOf(deviceId),
          (r) => r.length === 1,
          { what: `row for ${deviceId.slice(0, 20)}` },
        );
        expect(rows[0]).toMatchObject({ deviceId, payload: { id: deviceId } });
      }
    });

    it('stores a reading near the frame size limit', async () => {
      const big = { blob: 'b'.repeat(50_000), list: Array.from({ length: 500 }, (_, i) => i) };
      await sender.send(frame('dev-big', big), false);
      const rows = await eventually(
        () => rowsOf('dev-big'),
        (r) => r.length === 1,
        { what: 'big row' },
      );
      expect(rows[0].payload).toEqual(big);
    });

    it('does not store binary frames, non-JSON text or other JSON types, but forwards them', async () => {
      const binary = Buffer.from(frame('dev-3', { seq: 1 }));
      await sender.send(binary, true);
      await sender.send('not json but mentions "device_data"', false);
      await sender.send(JSON.stringify({ type: 'telemetry', deviceId: 'dev-3', data: { seq: 2 } }), false);
      await peer1.waitForCount(3);
      await sleep(300);
      expect(await rowsOf('dev-3')).toEqual([]);
      expect(sender.frames).toHaveLength(0);
    });

    it('orders by the reading time, not by the order rows were written; equal times newest id first', async () => {
      // Written in this order (ids ascending), with times that disagree with it: a flush can
      // write an older reading after a newer one.
      const base = Date.now() - 3600_000;
      const offsets = [2, 0, 1, 1, 1, 3];
      await relay().relay.db.prisma.deviceData.createMany({
        data: offsets.map((s, i) => ({
          endpointId: ep.id,
          deviceId: 'dev-order',
          payload: { i },
          createdAt: new Date(base + s * 1000),
        })),
      });
      expect((await rowsOf('dev-order')).map((r) => r.payload.i)).toEqual([5, 0, 4, 3, 2, 1]);
    });

    it('defaults to the newest 100 readings (and alerts) when no limit is given', async () => {
      const t = relay();
      const p = t.relay.db.prisma;
      const base = Date.now() - 3600_000;
      await p.deviceData.createMany({
        data: Array.from({ length: 120 }, (_, i) => ({
          endpointId: ep.id,
          deviceId: 'dev-many',
          payload: { i },
          createdAt: new Date(base + i * 1000),
        })),
      });
      const newest100 = Array.from({ length: 100 }, (_, k) => 119 - k);
      expect((await rowsOf('dev-many')).map((r) => r.payload.i)).toEqual(newest100);
      // An empty limit is no limit.
      expect((await rowsOf('dev-many', '?limit=')).map((r) => r.payload.i)).toEqual(newest100);

      const rule = await p.alertRule.create({
        data: { endpointId: otherEp.id, field: 'x', operator: '>', threshold: 0, enabled: false },
      });
      await p.alert.createMany({
        data: Array.from({ length: 105 }, (_, i) => ({
          ruleId: rule.id,
          endpointId: otherEp.id,
          deviceId: 'd',
          value: i,
          createdAt: new Date(base + i * 1000),
        })),
      });
      const listed = await t.request<Array<{ value: number }>>('GET', `/api/endpoints/${otherEp.id}/alerts`);
      expect(listed.body.map((a) => a.value)).toEqual(Array.from({ length: 100 }, (_, k) => 104 - k));
      await p.alertRule.delete({ where: { id: rule.id } });
    });

    it('rejects bad query parameters with 400 naming the parameter', async () => {
      const t = relay();
      for (const [query, field] of [
        ['?limit=0', 'limit'],
        ['?limit=1001', 'limit'],
        ['?limit=abc', 'limit'],
        ['?limit=1.5', 'limit'],
        ['?from=yesterday', 'from'],
        ['?to=2026-13-45', 'to'],
      ]) {
        const res = await dataOf(t, 'dev-1', query);
        expect([query, res.status]).toEqual([query, 400]);
        expect((res.body as unknown as { error: string }).error).toContain(field);
      }
      expect((await dataOf(t, 'dev-1', '', 'no-such-endpoint')).status).toBe(404);
    });
  });

  describe('malformed device data', () => {
    it.each([
      ['missing deviceId', JSON.stringify({ type: 'device_data', data: { t: 1 } }), 'deviceId'],
      ['empty deviceId', frame('', { t: 1 }), 'deviceId'],
      ['numeric deviceId', frame(42, { t: 1 }), 'deviceId'],
      ['deviceId over 191 characters', frame('d'.repeat(192), { t: 1 }), 'deviceId'],
      ['missing data', JSON.stringify({ type: 'device_data', deviceId: 'bad-1' }), 'data'],
      ['data is a number', frame('bad-1', 5), 'data'],
      ['data is a string', frame('bad-1', 'hot'), 'data'],
      ['data is null', frame('bad-1', null), 'data'],
      ['data is an array', frame('bad-1', [1, 2]), 'data'],
    ])('%s: error to the sender only, frame still forwarded, socket usable', async (_name, text, field) => {
      await sender.send(text, false);
      await sender.waitForCount(1);
      await Promise.all([peer1.waitForCount(1), peer2.waitForCount(1)]);
      const [err] = sender.json<{ type: string; message: string }>();
      expect(err.type).toBe('error');
      expect(typeof err.message).toBe('string');
      expect(err.message).toContain(field);
      for (const p of [peer1, peer2]) expect(p.frames.map((f) => f.data.toString())).toEqual([text]);

      // Still usable: a plain frame and a valid reading go through.
      await sender.send('after-error', false);
      await peer1.waitForCount(2);
      expect(peer1.frames.slice(0, 2).map((f) => f.data.toString())).toEqual([text, 'after-error']);
      expect(sender.isOpen).toBe(true);
      // A frame from peer1, sent only now, reaches the sender after anything the relay sent it
      // for its own frames (one ordered socket): then no second error can still be on the way.
      await peer1.send('sentinel', false);
      await sender.waitForCount(2);
      expect(sender.frames.map((f) => f.data.toString()).slice(1)).toEqual(['sentinel']);
      expect(peer1.json().filter((m) => m.type === 'error')).toHaveLength(0);
      expect(outsider.frames).toHaveLength(0);
      expect(await rowsOf('bad-1')).toEqual([]);
    });

    it('stores a valid reading sent right after an error', async () => {
      await sender.send(frame('bad-1', null), false);
      await sender.waitForCount(1);
      expect(sender.json()[0]).toMatchObject({ type: 'error' });
      await sender.send(frame('bad-1', { ok: true }), false);
      const rows = await eventually(
        () => rowsOf('bad-1'),
        (r) => r.length === 1,
        { what: 'row after error' },
      );
      expect(rows[0].payload).toEqual({ ok: true });
    });
  });

  describe('alert rules', () => {
    const alerts = async (query = '') => {
      const res = await relay().request<
        Array<{ id: number; ruleId: number; deviceId: string; value: number; createdAt: string }>
      >('GET', `/api/endpoints/${ep.id}/alerts${query}`);
      expect(res.status).toBe(200);
      return res.body;
    };
    const createRule = async (body: Record<string, unknown>) => {
      const res = await relay().request<{ id: number }>('POST', `/api/endpoints/${ep.id}/alert-rules`, {
        body,
      });
      expect(res.status).toBe(201);
      return res.body.id;
    };
    const tempRule = () => createRule({ field: 'temperature', operator: '>', threshold: 30 });
    /**
     * Sends a reading, then waits until it is stored and until the alerts it fires (evaluated
     * after storing in immediate mode, after queueing in batched mode) have reached the sender.
     */
    const reading = async (deviceId: string, data: Record<string, unknown>, firing = 0) => {
      const before = (await rowsOf(deviceId)).length;
      const alertsBefore = alertsIn(sender).length;
      await sender.send(frame(deviceId, data), false);
      await eventually(
        () => rowsOf(deviceId),
        (r) => r.length === before + 1,
        { what: `${deviceId} stored` },
      );
      if (firing)
        await sender.waitFor(
          () => alertsIn(sender).length >= alertsBefore + firing,
          5000,
          `${firing} alert(s)`,
        );
    };

    it('creates and lists a rule', async () => {
      const res = await relay().request<{ id: number }>('POST', `/api/endpoints/${ep.id}/alert-rules`, {
        body: { field: 'temperature', operator: '>', threshold: 30 },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.any(Number),
        field: 'temperature',
        operator: '>',
        threshold: 30,
        enabled: true,
      });
      const list = await relay().request<Array<{ id: number }>>('GET', `/api/endpoints/${ep.id}/alert-rules`);
      expect(list.body.map((r) => r.id)).toEqual([res.body.id]);
    });

    it('fires exactly once per matching frame, to every client of the endpoint including the sender', async () => {
      const ruleId = await tempRule();
      await sender.send(frame('dev-a', { temperature: 31.5 }), false);
      for (const c of [sender, peer1, peer2]) await c.waitFor(() => alertsIn(c).length >= 1, 5000, 'alert');
      await sleep(300);
      for (const c of [sender, peer1, peer2]) {
        const got = alertsIn(c);
        expect(got).toHaveLength(1);
        expect(got[0]).toMatchObject({
          type: 'alert',
          ruleId,
          deviceId: 'dev-a',
          value: 31.5,
          endpointId: ep.id,
        });
      }
      expect(outsider.frames).toHaveLength(0);
      const listed = await alerts();
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ ruleId, deviceId: 'dev-a', value: 31.5 });
      // The frame names the stored row: its key and time, whichever way the alert was written.
      const [sent] = alertsIn(sender);
      expect({ id: listed[0].id, createdAt: listed[0].createdAt }).toEqual({
        id: sent.id,
        createdAt: sent.createdAt,
      });

      // A second matching frame: one more alert, not two.
      await sender.send(frame('dev-a', { temperature: 40 }), false);
      await sender.waitFor(() => alertsIn(sender).length >= 2, 5000, 'second alert');
      await sleep(300);
      expect(alertsIn(sender).map((a) => a.value)).toEqual([31.5, 40]);
      expect(alertsIn(peer2).map((a) => a.value)).toEqual([31.5, 40]);
      expect((await alerts()).map((a) => a.value)).toEqual([40, 31.5]); // newest first
      expect((await alerts('?limit=1')).map((a) => a.value)).toEqual([40]);
    });

    it("a rule written to the database behind the relay's back: immediate mode reads the rules per reading, batched mode keeps its cache", async () => {
      await tempRule();
      await reading('dev-a', { temperature: 31 }, 1); // batched: the endpoint's rules are now cached
      await relay().relay.db.prisma.alertRule.create({
        data: { endpointId: ep.id, field: 'humidity', operator: '>', threshold: 50, enabled: true },
      });
      const immediate = target.statsMode === 'immediate';
      await reading('dev-a', { humidity: 60 }, immediate ? 1 : 0);
      // A reading the cached rule fires on: once its alert is here, the one before was evaluated.
      await reading('dev-a', { temperature: 40 }, 1);
      expect(alertsIn(sender).map((a) => a.value)).toEqual(immediate ? [31, 60, 40] : [31, 40]);
    });

    it('fires nothing for non-matching frames', async () => {
      await tempRule();
      await reading('dev-a', { temperature: 30 }); // not > 30
      await reading('dev-a', { temperature: 12 });
      await reading('dev-a', { humidity: 99 }); // field missing
      await reading('dev-a', { temperature: '45' }); // not a number
      await reading('dev-a', { temperature: { value: 45 } });
      // A matching reading last: once its alert is here, the earlier ones were evaluated too.
      await reading('dev-a', { temperature: 31 }, 1);
      await sleep(200);
      for (const c of [sender, peer1, peer2]) expect(alertsIn(c).map((a) => a.value)).toEqual([31]);
      expect((await alerts()).map((a) => a.value)).toEqual([31]);
    });

    it('scopes a rule with deviceId to that device', async () => {
      const scoped = await createRule({
        deviceId: 'dev-b',
        field: 'sensors.humidity',
        operator: '<',
        threshold: 10,
      });
      await reading('dev-c', { sensors: { humidity: 5 } });
      await reading('dev-b', { sensors: { humidity: 5 } }, 1);
      await sleep(200);
      for (const c of [sender, peer1, peer2])
        expect(alertsIn(c)).toEqual([
          expect.objectContaining({ ruleId: scoped, deviceId: 'dev-b', value: 5 }),
        ]);
      expect((await alerts()).map((a) => [a.ruleId, a.deviceId])).toEqual([[scoped, 'dev-b']]);
    });

    it('does not fire a disabled rule', async () => {
      await createRule({ field: 'pressure', operator: '>=', threshold: 1, enabled: false });
      const enabled = await createRule({ field: 'pressure', operator: '>=', threshold: 2 });
      await reading('dev-a', { pressure: 5 }, 1);
      await sleep(200);
      expect(alertsIn(sender).map((a) => a.ruleId)).toEqual([enabled]);
      expect((await alerts()).map((a) => a.ruleId)).toEqual([enabled]);
    });

    it('deletes a rule: it stops firing, is no longer listed, and a second delete is 404', async () => {
      const t = relay();
      const ruleId = await tempRule();
      const other = await createRule({ field: 'humidity', operator: '>', threshold: 50 });
      await reading('dev-a', { temperature: 100 }, 1); // rules read (and cached in batched mode)
      const del = await t.request('DELETE', `/api/endpoints/${ep.id}/alert-rules/${ruleId}`);
      expect(del.status).toBe(204);
      const list = await t.request<Array<{ id: number }>>('GET', `/api/endpoints/${ep.id}/alert-rules`);
      expect(list.body.map((r) => r.id)).toEqual([other]);
      await reading('dev-a', { temperature: 100, humidity: 60 }, 1);
      await sleep(200);
      expect(alertsIn(sender).map((a) => a.ruleId)).toEqual([ruleId, other]);
      expect((await t.request('DELETE', `/api/endpoints/${ep.id}/alert-rules/${ruleId}`)).status).toBe(404);
      // A rule of this endpoint cannot be deleted through another endpoint.
      expect((await t.request('DELETE', `/api/endpoints/${otherEp.id}/alert-rules/${other}`)).status).toBe(
        404,
      );
      expect((await t.request('DELETE', `/api/endpoints/${ep.id}/alert-rules/abc`)).status).toBe(400);
    });

    // Batched mode caches an endpoint's rules (here for longer than any test runs); creating or
    // deleting a rule through the API must drop that cache, so the change shows on the very next
    // frame. Immediate mode reads the rules per frame and must behave the same.
    it('fires a rule created after the rules were cached on the very next frame', async () => {
      const first = await tempRule();
      await reading('dev-a', { temperature: 35, humidity: 80 }, 1); // caches [first]
      const added = await createRule({ field: 'humidity', operator: '>', threshold: 50 });
      await reading('dev-a', { temperature: 36, humidity: 81 }, 2);
      await sleep(200);
      const fired = alertsIn(peer1).map((a) => `${a.ruleId}:${a.value}`);
      expect(fired.sort()).toEqual([`${first}:35`, `${first}:36`, `${added}:81`].sort());
      expect(sender.json().filter((m) => m.type === 'error')).toEqual([]);
    });

    it('stops a rule deleted after the rules were cached at once', async () => {
      const t = relay();
      const kept = await tempRule();
      const doomed = await createRule({ field: 'humidity', operator: '>', threshold: 50 });
      await reading('dev-a', { temperature: 35, humidity: 80 }, 2); // caches [kept, doomed]
      expect((await t.request('DELETE', `/api/endpoints/${ep.id}/alert-rules/${doomed}`)).status).toBe(204);
      await reading('dev-a', { temperature: 36, humidity: 81 }, 1);
      await sleep(200);
      const fired = alertsIn(peer1).map((a) => `${a.ruleId}:${a.value}`);
      expect(fired.sort()).toEqual([`${kept}:35`, `${doomed}:80`, `${kept}:36`].sort());
      expect(sender.json().filter((m) => m.type === 'error')).toEqual([]);
      expect((await alerts()).map((a) => [a.ruleId, a.value])).toEqual([
        [kept, 36],
        [kept, 35],
      ]);
    });

    it('rejects bad rule bodies with 400 naming the field', async () => {
      const t = relay();
      for (const [body, field] of [
        [{ operator: '>', threshold: 1 }, 'field'],
        [{ field: 'x', operator: '=>', threshold: 1 }, 'operator'],
        [{ field: 'x', operator: '>', threshold: '1' }, 'threshold'],
        [{ field: 'x', operator: '>' }, 'threshold'],
        [{ field: 'x', operator: '>', threshold: 1, enabled: 'yes' }, 'enabled'],
      ] as const) {
        const res = await t.request<{ error: string }>('POST', `/api/endpoints/${ep.id}/alert-rules`, {
          body,
        });
        expect([field, res.status]).toEqual([field, 400]);
        expect(res.body.error).toContain(field);
      }
      const alertsBad = await t.request('GET', `/api/endpoints/${ep.id}/alerts?limit=0`);
      expect(alertsBad.status).toBe(400);
    });

    it("counts a device's stored readings and fired alerts exactly (GET .../devices/:deviceId/stats)", async () => {
      await tempRule();
      await createRule({ field: 'temperature', operator: '<', threshold: -100 }); // never fires
      const statsOf = async (deviceId: string, endpointId = ep.id) => {
        const res = await relay().request<{ deviceId: string; readings: number; alerts: number }>(
          'GET',
          `/api/endpoints/${endpointId}/devices/${encodeURIComponent(deviceId)}/stats`,
        );
        expect(res.status).toBe(200);
        return res.body;
      };
      expect(await statsOf('counted')).toEqual({ deviceId: 'counted', readings: 0, alerts: 0 });
      for (const temperature of [10, 31, 20, 40, 50])
        await reading('counted', { temperature }, temperature > 30 ? 1 : 0);
      await reading('other-device', { temperature: 99 }, 1);
      await eventually(
        () => statsOf('counted'),
        (s) => s.alerts === 3,
        { what: '3 alerts stored' },
      );
      expect(await statsOf('counted')).toEqual({ deviceId: 'counted', readings: 5, alerts: 3 });
      expect(await statsOf('other-device')).toEqual({ deviceId: 'other-device', readings: 1, alerts: 1 });
      // Another endpoint's device of the same id counts nothing of this one's.
      expect(await statsOf('counted', otherEp.id)).toEqual({ deviceId: 'counted', readings: 0, alerts: 0 });
      const t = relay();
      expect((await t.request('GET', `/api/endpoints/${ep.id}/devices/counted/stats?x=1`)).status).toBe(400);
      expect((await t.request('GET', `/api/endpoints/${'0'.repeat(8)}/devices/counted/stats`)).status).toBe(
        404,
      );
    });
  });
});
