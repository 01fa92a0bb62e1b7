import { eachDb } from './helpers/databases';
import { useRelay, type CreatedEndpoint, type HttpResult } from './helpers/relay';

interface ErrorBody {
  error: string;
}

/** A client mistake: a 4xx with a JSON `{ error }` body, never a 5xx. */
function expectClientError(
  label: string,
  res: HttpResult,
  status: number | number[],
  names?: string | RegExp,
) {
  const allowed = Array.isArray(status) ? status : [status];
  expect([label, allowed.includes(res.status) ? 'ok' : res.status, res.text.slice(0, 200)]).toEqual([
    label,
    'ok',
    res.text.slice(0, 200),
  ]);
  const error = (res.body as ErrorBody | undefined)?.error;
  expect([label, typeof error]).toEqual([label, 'string']);
  if (names !== undefined) expect([label, error]).toEqual([label, expect.stringMatching(names)]);
}

/** Every route, with `:id`, `:deviceId`, `:ruleId` placeholders and a valid body where one is needed. */
const ROUTES: Array<{ method: string; path: string; body?: unknown }> = [
  { method: 'GET', path: '/api/endpoints/:id' },
  { method: 'DELETE', path: '/api/endpoints/:id' },
  { method: 'GET', path: '/api/endpoints/:id/stats' },
  { method: 'GET', path: '/api/endpoints/:id/devices/:deviceId/data' },
  {
    method: 'POST',
    path: '/api/endpoints/:id/alert-rules',
    body: { field: 'x', operator: '>', threshold: 1 },
  },
  { method: 'GET', path: '/api/endpoints/:id/alert-rules' },
  { method: 'DELETE', path: '/api/endpoints/:id/alert-rules/:ruleId' },
  { method: 'GET', path: '/api/endpoints/:id/alerts' },
];

const BROKEN_ESCAPES = ['%E0%A4%A', '%', '%ZZ', 'a%2', '%ED%A0%80', '%C3', '%FF'];

/** Largest double below 1e19, the exclusive threshold bound (see schemas.ts): 1e19 minus one ulp (2048). */
const LARGEST_THRESHOLD = 9999999999999997952;

// REST only: the stats mode plays no part, so the production default (batched) is enough.
eachDb('no client input gets a 5xx', (db) => {
  const relay = useRelay({ name: `${db.name}/batched`, db, statsMode: 'batched' });
  let ep: CreatedEndpoint;
  let ruleId: number;

  const fill = (path: string, params: Partial<Record<'id' | 'deviceId' | 'ruleId', string>>) =>
    path
      .replace(':id', params.id ?? ep.id)
      .replace(':deviceId', params.deviceId ?? 'd1')
      .replace(':ruleId', params.ruleId ?? String(ruleId));

  beforeAll(async () => {
    ep = await relay().createEndpoint('bad-input');
    const rule = await relay().request<{ id: number }>('POST', `/api/endpoints/${ep.id}/alert-rules`, {
      body: { field: 'x', operator: '>', threshold: 1 },
    });
    ruleId = rule.body.id;
  });

  it('a broken percent-escape in any path parameter is 400 naming the path', async () => {
    for (const route of ROUTES) {
      for (const param of ['id', 'deviceId', 'ruleId'] as const) {
        if (!route.path.includes(`:${param}`)) continue;
        for (const bad of BROKEN_ESCAPES) {
          const path = fill(route.path, { [param]: bad });
          const res = await relay().request(route.method, path, { body: route.body });
          expectClientError(`${route.method} ${path}`, res, 400, /path.*percent|percent.*path/i);
        }
      }
    }
  });

  it('odd endpoint ids in the path are 404; device ids no column could hold are 400', async () => {
    const odd = ['x'.repeat(5000), '%20', '%00', 'null', '..', '%2F%2F', encodeURIComponent('🚀'), '-1', '0'];
    for (const route of ROUTES) {
      for (const value of odd) {
        const path = fill(route.path, { id: value });
        const res = await relay().request(route.method, path, { body: route.body });
        expectClientError(`${route.method} ${path.slice(0, 80)}`, res, 404);
      }
    }
    for (const value of ['x'.repeat(5000), encodeURIComponent('\u00e9'.repeat(192)), '%ED%B0%80x']) {
      const res = await relay().request(
        'GET',
        fill('/api/endpoints/:id/devices/:deviceId/data', { deviceId: value }),
      );
      expectClientError(`deviceId ${value.slice(0, 20)}`, res, 400, /deviceId|path/);
    }
    // NUL is an ordinary character to both databases: a valid (absent) device.
    const nul = await relay().request(
      'GET',
      fill('/api/endpoints/:id/devices/:deviceId/data', { deviceId: '%00' }),
    );
    expect([nul.status, nul.body]).toEqual([200, []]);
  });

  it.each([
    ['0', 'ruleId'],
    ['-1', 'ruleId'],
    ['1.5', 'ruleId'],
    ['abc', 'ruleId'],
    ['1e3', 'ruleId'],
    ['0x10', 'ruleId'],
    ['2147483648', 'ruleId'],
    ['99999999999999999999', 'ruleId'],
    ['Infinity', 'ruleId'],
  ])('DELETE alert-rules/%s is 400 naming ruleId', async (value, field) => {
    const res = await relay().request(
      'DELETE',
      fill('/api/endpoints/:id/alert-rules/:ruleId', { ruleId: value }),
    );
    expectClientError(`ruleId=${value}`, res, 400, new RegExp(field));
  });

  it('the largest rule id (2147483647) is a plain 404', async () => {
    const res = await relay().request(
      'DELETE',
      fill('/api/endpoints/:id/alert-rules/:ruleId', { ruleId: '2147483647' }),
    );
    expectClientError('ruleId max', res, 404);
  });

  const QUERY_CASES: Array<[string, string]> = [
    ['limit=0', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=NaN', 'limit'],
    ['limit=Infinity', 'limit'],
    ['limit=1e400', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=99999999999999999999', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['limit=%E0%A4%A', 'limit'],
    ['bogus=1', 'bogus'],
    ['limits=10', 'limits'],
  ];

  it.each(['/alerts', '/devices/d1/data'])(
    'bad query parameters on %s are 400 naming the parameter',
    async (suffix) => {
      for (const [query, field] of QUERY_CASES) {
        const res = await relay().request('GET', `/api/endpoints/${ep.id}${suffix}?${query}`);
        expectClientError(`${suffix}?${query}`, res, 400, new RegExp(field));
      }
    },
  );

  it('unknown query parameters on routes that take none are 400 naming the parameter', async () => {
    for (const route of ROUTES.filter((r) => !/alerts$|data$/.test(r.path))) {
      const path = `${fill(route.path, {})}?bogus=1`;
      const res = await relay().request(route.method, path, { body: route.body });
      expectClientError(`${route.method} ${path}`, res, 400, /bogus/);
    }
    const list = await relay().request('GET', '/api/endpoints?bogus=1');
    expectClientError('GET /api/endpoints?bogus=1', list, 400, /bogus/);
  });

  it.each([
    ['from', '99999999999999999'],
    ['to', '8640000000000001'],
    ['from', '2020-13-45T00:00:00Z'],
    ['from', '2020-01-01'],
    ['to', 'yesterday'],
    ['from', '-1'],
    ['to', '1e12'],
    ['from', '0000-01-01T00:00:00Z'],
    ['to', '+275760-09-13T00:00:00.000Z'],
  ])('device data ?%s=%s is 400 naming the parameter', async (field, value) => {
    const res = await relay().request(
      'GET',
      `/api/endpoints/${ep.id}/devices/d1/data?${field}=${encodeURIComponent(value)}`,
    );
    expectClientError(`${field}=${value}`, res, 400, new RegExp(field));
  });

  it('device data accepts the ends of the time range (epoch 0, year 9999)', async () => {
    for (const q of [
      'from=0',
      'to=9999-12-31T23:59:59.999Z',
      'from=1970-01-01T00:00:00Z&to=253402300799999',
    ]) {
      const res = await relay().request('GET', `/api/endpoints/${ep.id}/devices/d1/data?${q}`);
      expect([q, res.status]).toEqual([q, 200]);
    }
  });

  it.each([
    ['not JSON', '{"name":', 'application/json', /json/i],
    ['a JSON string', '"x"', 'application/json', /body/],
    ['an array', '[]', 'application/json', /body/],
    ['null', 'null', 'application/json', /body/],
    ['form encoded', 'name=x', 'application/x-www-form-urlencoded', /name/],
    ['text', 'x', 'text/plain', /name/],
    ['an unknown charset', '{"name":"x"}', 'application/json; charset=klingon', /charset/i],
    ['an unknown key', '{"name":"x","nmae":"y"}', 'application/json', /nmae/],
    ['a lone surrogate in name', '{"name":"a\\ud800b"}', 'application/json', /name/],
    ['a 192-character name', JSON.stringify({ name: 'n'.repeat(192) }), 'application/json', /name/],
  ])('POST /api/endpoints with %s is 4xx naming the problem', async (label, rawBody, type, names) => {
    const res = await relay().request('POST', '/api/endpoints', {
      rawBody,
      headers: { 'content-type': type },
    });
    expectClientError(label, res, [400, 415], names);
  });

  const rule = { field: 'temperature', operator: '>', threshold: 1 };
  it.each([
    ['threshold a string', { ...rule, threshold: '5' }, 'threshold'],
    ['threshold null', { ...rule, threshold: null }, 'threshold'],
    ['threshold true', { ...rule, threshold: true }, 'threshold'],
    ['threshold missing', { field: 'x', operator: '>' }, 'threshold'],
    ['threshold the largest double', { ...rule, threshold: Number.MAX_VALUE }, 'threshold'],
    ['threshold minus the largest double', { ...rule, threshold: -Number.MAX_VALUE }, 'threshold'],
    ['threshold 1e19', { ...rule, threshold: 1e19 }, 'threshold'],
    ['threshold -1e19', { ...rule, threshold: -1e19 }, 'threshold'],
    [
      'threshold 1.3583485441586396e20 (loses digits in storage)',
      { ...rule, threshold: 1.3583485441586396e20 },
      'threshold',
    ],
    ['operator unknown', { ...rule, operator: '=~' }, 'operator'],
    ['operator a number', { ...rule, operator: 1 }, 'operator'],
    ['field empty', { ...rule, field: '' }, 'field'],
    ['field 192 characters', { ...rule, field: 'f'.repeat(192) }, 'field'],
    ['field 192 four-byte characters', { ...rule, field: '🚀'.repeat(192) }, 'field'],
    ['field with a lone surrogate', { ...rule, field: 'a\ud800' }, 'field'],
    ['deviceId empty', { ...rule, deviceId: '' }, 'deviceId'],
    ['deviceId 192 characters', { ...rule, deviceId: 'd'.repeat(192) }, 'deviceId'],
    ['deviceId with a lone surrogate', { ...rule, deviceId: '\udc00' }, 'deviceId'],
    ['deviceId a number', { ...rule, deviceId: 7 }, 'deviceId'],
    ['enabled a string', { ...rule, enabled: 'yes' }, 'enabled'],
    ['an unknown key', { ...rule, treshold: 2 }, 'treshold'],
  ])('POST alert-rules with %s is 400 naming the field', async (_label, body, field) => {
    const res = await relay().request('POST', `/api/endpoints/${ep.id}/alert-rules`, { body });
    expectClientError(`${_label}`, res, 400, new RegExp(field));
  });

  it.each([
    ['1e400', 'threshold'],
    ['-1e400', 'threshold'],
    ['NaN', 'json'],
    ['Infinity', 'json'],
  ])('POST alert-rules with threshold %s in the raw JSON is 400', async (literal, names) => {
    const rawBody = `{"field":"t","operator":">","threshold":${literal}}`;
    const res = await relay().request('POST', `/api/endpoints/${ep.id}/alert-rules`, { rawBody });
    expectClientError(literal, res, 400, new RegExp(names, 'i'));
  });

  it('every accepted threshold reads back exactly: the bounds, tiny values and a random sample', async () => {
    const t = relay();
    const values = [
      LARGEST_THRESHOLD,
      -LARGEST_THRESHOLD,
      2 ** 63,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      2.2250738585072014e-308,
      0,
      0.1,
      1 / 3,
    ];
    // Random doubles over the whole accepted magnitude range, every bit of the mantissa used.
    for (let i = 0; i < 40; i++) {
      const v = (Math.random() * 2 - 1) * 10 ** (Math.random() * 340 - 321);
      if (Math.abs(v) <= LARGEST_THRESHOLD) values.push(v);
    }
    for (const threshold of values) {
      const res = await t.request<{ id: number; threshold: number }>(
        'POST',
        `/api/endpoints/${ep.id}/alert-rules`,
        {
          body: { ...rule, threshold },
        },
      );
      expect([threshold, res.status]).toEqual([threshold, 201]);
      expect([threshold, res.body.threshold]).toEqual([threshold, threshold]);
    }
    const listed = await t.request<Array<{ threshold: number }>>(
      'GET',
      `/api/endpoints/${ep.id}/alert-rules`,
    );
    const stored = listed.body.map((r) => r.threshold);
    for (const v of values) expect([v, stored.includes(v)]).toEqual([v, true]);
  });

  it('-0 is stored as 0 (the same comparisons) and reads back as 0', async () => {
    const res = await relay().request<{ threshold: number }>('POST', `/api/endpoints/${ep.id}/alert-rules`, {
      rawBody: '{"field":"t","operator":">","threshold":-0}',
    });
    expect(res.status).toBe(201);
    expect(Object.is(res.body.threshold, 0)).toBe(true);
  });

  it('191 characters (the column counts characters, 4-byte ones too) are stored and read back unchanged', async () => {
    const body = { ...rule, field: '🚀'.repeat(191), deviceId: 'é'.repeat(191) };
    const res = await relay().request<{ field: string; deviceId: string }>(
      'POST',
      `/api/endpoints/${ep.id}/alert-rules`,
      { body },
    );
    expect(res.status).toBe(201);
    expect([res.body.field, res.body.deviceId]).toEqual([body.field, body.deviceId]);
  });
});
