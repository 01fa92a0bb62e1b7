import { createAlertRule, createEndpoint, deleteEndpoint, deviceCounts, mapLimit } from '../lib/rest-client';
import { useStubServer } from './helpers/stub-server';

describe('rest-client (the hooks’ REST calls)', () => {
  const { stub, base: baseOf } = useStubServer();
  let base: string;
  beforeEach(() => (base = baseOf()));

  describe('createEndpoint', () => {
    it('POSTs the name as JSON with the API key as a bearer token and returns id and token only', async () => {
      stub.reply(201, { id: 'ep-1', token: 'tok-1', name: 'perf-0', createdAt: 'x' });
      await expect(createEndpoint(base, 'k3y', 'perf-0')).resolves.toEqual({ id: 'ep-1', token: 'tok-1' });
      expect(stub.seen).toHaveLength(1);
      const [req] = stub.seen;
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/api/endpoints');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers.authorization).toBe('Bearer k3y');
      expect(JSON.parse(req.body)).toEqual({ name: 'perf-0' });
    });

    it('sends no authorization header without an API key (open relay)', async () => {
      stub.reply(201, { id: 'ep-2', token: 'tok-2' });
      await createEndpoint(base, undefined, 'n');
      await createEndpoint(base, '', 'n');
      expect(stub.seen.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
      expect(stub.seen[0].headers['content-type']).toBe('application/json');
    });

    it('fails on any status but 201, with the status and the start of the body', async () => {
      stub.reply(200, { id: 'ep', token: 't' });
      await expect(createEndpoint(base, 'k', 'n')).rejects.toThrow(
        `POST ${base}/api/endpoints -> 200 {"id":"ep","token":"t"}`,
      );
      stub.reply(500, 'y'.repeat(300));
      const err = (await createEndpoint(base, 'k', 'n').catch((e: unknown) => e)) as Error;
      // the body is cut at 200 characters so a HTML error page does not flood the log
      expect(err.message).toBe(`POST ${base}/api/endpoints -> 500 ${'y'.repeat(200)}`);
    });

    it('hints at API_KEY on a 401 only', async () => {
      stub.reply(401, 'unauthorized');
      await expect(createEndpoint(base, undefined, 'n')).rejects.toThrow(
        `POST ${base}/api/endpoints -> 401 unauthorized (is API_KEY set?)`,
      );
      stub.reply(403, 'forbidden');
      const err = (await createEndpoint(base, 'k', 'n').catch((e: unknown) => e)) as Error;
      expect(err.message).toBe(`POST ${base}/api/endpoints -> 403 forbidden`);
    });

    it.each([[{ token: 't' }], [{ id: 'i' }], [{ id: 7, token: 't' }], [{ id: 'i', token: null }]])(
      'rejects a 201 without a string id and token: %j',
      async (body) => {
        stub.reply(201, body);
        await expect(createEndpoint(base, 'k', 'n')).rejects.toThrow(
          `POST /api/endpoints returned no id/token: ${JSON.stringify(body)}`,
        );
      },
    );

    it('cuts the echoed body at 200 characters in that error too', async () => {
      const body = { id: 'i', pad: 'z'.repeat(400) };
      stub.reply(201, body);
      const err = (await createEndpoint(base, 'k', 'n').catch((e: unknown) => e)) as Error;
      expect(err.message).toBe(
        `POST /api/endpoints returned no id/token: ${JSON.stringify(body).slice(0, 200)}`,
      );
    });
  });

  describe('deleteEndpoint', () => {
    it('DELETEs the endpoint by its URL-encoded id with the bearer token', async () => {
      stub.reply(204);
      await expect(deleteEndpoint(base, 'k3y', 'a/b c')).resolves.toBeUndefined();
      expect(stub.seen).toHaveLength(1);
      expect(stub.seen[0].method).toBe('DELETE');
      expect(stub.seen[0].url).toBe('/api/endpoints/a%2Fb%20c');
      expect(stub.seen[0].headers.authorization).toBe('Bearer k3y');
      expect(stub.seen[0].headers['content-type']).toBe('application/json');
    });

    it('accepts any 2xx, and 404 (already gone: cleanup is idempotent)', async () => {
      for (const status of [200, 204, 299, 404]) {
        stub.reply(status, status === 204 ? '' : '{}');
        await expect(deleteEndpoint(base, undefined, 'x')).resolves.toBeUndefined();
      }
      expect(stub.seen.map((r) => r.headers.authorization)).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    });

    it.each([300, 401, 403, 500])('fails on %i, naming the id and the status', async (status) => {
      stub.reply(status, 'no');
      await expect(deleteEndpoint(base, 'k', 'ep-9')).rejects.toThrow(
        `DELETE /api/endpoints/ep-9 -> ${status}`,
      );
    });
  });

  describe('createAlertRule', () => {
    const rule = { field: 'temperature', operator: '>=' as const, threshold: 30.5 };

    it("POSTs the rule as JSON to the endpoint's URL-encoded alert-rules path with the bearer token", async () => {
      stub.reply(201, { id: 1 });
      await expect(createAlertRule(base, 'k3y', 'a/b', rule)).resolves.toBeUndefined();
      expect(stub.seen).toHaveLength(1);
      const [req] = stub.seen;
      expect([req.method, req.url]).toEqual(['POST', '/api/endpoints/a%2Fb/alert-rules']);
      expect(req.headers.authorization).toBe('Bearer k3y');
      expect(req.headers['content-type']).toBe('application/json');
      expect(JSON.parse(req.body)).toEqual(rule);
    });

    it.each([200, 400, 404, 500])(
      'fails on %i with the URL, the status and the start of the body',
      async (status) => {
        stub.reply(status, 'q'.repeat(300));
        const err = (await createAlertRule(base, 'k', 'ep', rule).catch((e: unknown) => e)) as Error;
        expect(err.message).toBe(`POST ${base}/api/endpoints/ep/alert-rules -> ${status} ${'q'.repeat(200)}`);
      },
    );
  });

  describe('deviceCounts', () => {
    const dev = '/api/endpoints/e%201/devices/d%2F1';
    /** A body whose JSON is 300 characters; errors show its first 200 only. */
    const long = 'x'.repeat(298);

    it.each([
      ['a stats answer without counts', 200, 'no readings/alerts counts in'],
      ['a failed stats answer', 500, '-> 500'],
    ])('cuts the body at 200 characters in %s', async (_what, status, said) => {
      stub.reply(404, {});
      stub.route(`${dev}/stats`, status, long);
      const err = (await deviceCounts(base, 'k', 'e 1', 'd/1').catch((e: Error) => e)) as Error;
      expect(err.message).toContain(said);
      expect(err.message).toContain(JSON.stringify(long).slice(0, 200));
      expect(err.message).not.toContain(JSON.stringify(long).slice(0, 201));
    });

    it('cuts the body at 200 characters in a failed list answer', async () => {
      stub.reply(500, long);
      stub.route(`${dev}/stats`, 404, { error: 'no route' });
      const err = (await deviceCounts(base, 'k', 'e 1', 'd/1').catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(/^GET (data|alerts) of d\/1 -> 500 /);
      expect(err.message).toContain(JSON.stringify(long).slice(0, 200));
      expect(err.message).not.toContain(JSON.stringify(long).slice(0, 201));
    });

    it("reads the device's stats route when the relay has it: one request, encoded ids, bearer token", async () => {
      stub.reply(404, { error: 'unexpected' });
      stub.route(`${dev}/stats`, 200, { readings: 7, alerts: 2, other: 1 });
      await expect(deviceCounts(base, 'k3y', 'e 1', 'd/1')).resolves.toEqual({ readings: 7, alerts: 2 });
      expect(stub.seen.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
        ['GET', `${dev}/stats`, 'Bearer k3y'],
      ]);
    });

    it.each([[{ readings: 7 }], [{ alerts: 1 }], [{ readings: '7', alerts: 1 }], [[]]])(
      'refuses a stats answer without numeric counts: %j',
      async (body) => {
        stub.reply(404, {});
        stub.route(`${dev}/stats`, 200, body);
        await expect(deviceCounts(base, 'k', 'e 1', 'd/1')).rejects.toThrow(
          `GET ${base}${dev}/stats: no readings/alerts counts in ${JSON.stringify(body)}`,
        );
      },
    );

    it.each([
      [500, 'database down', '"database down"'],
      [404, { error: 'endpoint not found' }, '{"error":"endpoint not found"}'],
      [401, { error: 'unauthorized' }, '{"error":"unauthorized"}'],
      // "no route" counts only on a 404: another status saying it is still an error
      [500, { error: 'no route to the database' }, '{"error":"no route to the database"}'],
    ])(
      'a stats answer %i that is not "no route" is an error, not a fallback',
      async (status, body, shown) => {
        stub.reply(200, []);
        stub.route(`${dev}/stats`, status, body);
        await expect(deviceCounts(base, 'k', 'e 1', 'd/1')).rejects.toThrow(
          `GET ${base}${dev}/stats -> ${status} ${shown}`,
        );
        expect(stub.seen).toHaveLength(1);
      },
    );

    it("without the stats route, counts the device's rows and only its alerts from the lists", async () => {
      stub.reply(500, 'unexpected');
      stub.route(`${dev}/stats`, 404, { error: 'no route' });
      stub.route(`${dev}/data?limit=1000`, 200, [{ id: 1 }, { id: 2 }, { id: 3 }]);
      stub.route('/api/endpoints/e%201/alerts?limit=1000', 200, [
        { deviceId: 'd/1' },
        { deviceId: 'other' },
        { deviceId: 'd/1' },
        {},
        { deviceId: 'd/1' },
      ]);
      await expect(deviceCounts(base, 'k3y', 'e 1', 'd/1')).resolves.toEqual({ readings: 3, alerts: 3 });
      expect(stub.seen.map((r) => r.url).sort()).toEqual(
        [`${dev}/stats`, `${dev}/data?limit=1000`, '/api/endpoints/e%201/alerts?limit=1000'].sort(),
      );
      expect(stub.seen.every((r) => r.headers.authorization === 'Bearer k3y')).toBe(true);
    });

    it.each([
      ['data', 999, 0, { readings: 999, alerts: 0 }],
      [
        'data',
        1000,
        0,
        'data of d/1: 1000 rows or more and the relay has no count route; cannot count exactly',
      ],
      [
        'alerts',
        0,
        1000,
        'alerts of d/1: 1000 rows or more and the relay has no count route; cannot count exactly',
      ],
    ])(
      'the lists are exact only below their page limit (%s: %i rows, %i alerts)',
      async (_what, rows, alerts, expected) => {
        stub.reply(500, 'unexpected');
        stub.route(`${dev}/stats`, 404, { error: 'no route' });
        stub.route(
          `${dev}/data?limit=1000`,
          200,
          Array.from({ length: rows }, (_, i) => ({ id: i })),
        );
        stub.route(
          '/api/endpoints/e%201/alerts?limit=1000',
          200,
          Array.from({ length: alerts }, () => ({ deviceId: 'other' })),
        );
        const outcome = deviceCounts(base, 'k', 'e 1', 'd/1');
        if (typeof expected === 'string') await expect(outcome).rejects.toThrow(expected);
        else await expect(outcome).resolves.toEqual(expected);
      },
    );

    it.each([
      ['data', 503, 'busy', 'GET data of d/1 -> 503 "busy"'],
      ['data', 200, { rows: [] }, 'GET data of d/1 -> 200 {"rows":[]}'],
      ['alerts', 500, 'x', 'GET alerts of d/1 -> 500 "x"'],
      // a list is not enough: an error status with a list body is still an error
      ['alerts', 500, [], 'GET alerts of d/1 -> 500 []'],
    ])('a failed or non-list %s answer is an error naming it', async (what, status, body, message) => {
      stub.reply(500, 'unexpected');
      stub.route(`${dev}/stats`, 404, { error: 'no route' });
      stub.route(`${dev}/data?limit=1000`, 200, []);
      stub.route('/api/endpoints/e%201/alerts?limit=1000', 200, []);
      stub.route(
        what === 'data' ? `${dev}/data?limit=1000` : '/api/endpoints/e%201/alerts?limit=1000',
        status,
        body,
      );
      await expect(deviceCounts(base, 'k', 'e 1', 'd/1')).rejects.toThrow(message);
    });
  });

  describe('mapLimit', () => {
    it('keeps result order whatever order the calls finish in, and passes each index', async () => {
      const delays = [30, 5, 20, 0, 10];
      const out = await mapLimit(delays, 2, async (ms, i) => {
        await new Promise((r) => setTimeout(r, ms));
        return `${i}:${ms}`;
      });
      expect(out).toEqual(['0:30', '1:5', '2:20', '3:0', '4:10']);
    });

    it('never has more than `limit` calls in flight, and uses all of them', async () => {
      let inFlight = 0;
      let peak = 0;
      const calls: number[] = [];
      await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
        calls.push(n);
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return n;
      });
      expect(peak).toBe(3);
      expect(calls.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    });

    it('handles fewer items than the limit, and none', async () => {
      await expect(mapLimit([4], 8, async (n) => n * 2)).resolves.toEqual([8]);
      await expect(mapLimit([], 8, async (n: number) => n)).resolves.toEqual([]);
    });

    it('rejects with the first failure', async () => {
      await expect(
        mapLimit([1, 2, 3], 2, async (n) => {
          if (n === 2) throw new Error('boom 2');
          return n;
        }),
      ).rejects.toThrow('boom 2');
    });
  });
});
