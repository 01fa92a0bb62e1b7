import { randomUUID } from 'node:crypto';
import type { Db } from '../src/db/prisma';
import { EndpointService, isEndpointId } from '../src/services/endpoint.service';
import { eachTarget } from './helpers/databases';
import { useRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, expectRefused, sleep, type Client } from './helpers/ws';

/**
 * An identifier means one thing in memory (Map keys, ===) and in the database. MariaDB's
 * default collation (utf8mb4_unicode_ci, PAD SPACE) would call these variants equal to the
 * original; the relay's maps would not, so an id must match in both or in neither.
 */
function variantsOf(id: string): Array<[string, string]> {
  const accented = id.replace(/[ae]/, (c) => (c === 'a' ? 'á' : 'é'));
  const combining = id.replace(/[ae]/, (c) => `${c}\u0301`);
  return [
    ['upper case', id.toUpperCase()],
    ['trailing space', `${id} `],
    ['trailing tab', `${id}\t`],
    ['leading space', ` ${id}`],
    ['precomposed accent', accented],
    ['combining accent', combining],
  ];
}

/** An endpoint whose id has an `a` or `e` to accent (nearly every UUID; retried otherwise). */
async function accentableEndpoint(t: TestRelay, label: string): Promise<CreatedEndpoint> {
  for (;;) {
    const ep = await t.createEndpoint(label);
    if (/[ae]/.test(ep.id)) return ep;
  }
}

const rawWsUrl = (t: TestRelay, id: string, token: string) =>
  `ws://127.0.0.1:${t.port}/ws/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`;

describe('isEndpointId: only the form create issues names an endpoint', () => {
  const id = '0f8e2c3a-4b5d-4e6f-8a9b-0c1d2e3f4a5b';

  it('accepts lower-case UUIDs, as create issues them', () => {
    expect(isEndpointId(id)).toBe(true);
    for (let i = 0; i < 20; i++) expect(isEndpointId(randomUUID())).toBe(true);
  });

  // Every case differs from a canonical id in one way, so each part of the pattern (anchors,
  // hex class, group lengths, hyphens) is what refuses it.
  it.each([
    ['empty', ''],
    ['upper case', id.toUpperCase()],
    ['one upper-case digit', id.replace('f', 'F')],
    ['non-hex digit', id.replace('f', 'g')],
    ['leading space', ` ${id}`],
    ['trailing space', `${id} `],
    ['trailing newline', `${id}\n`],
    ['prefix', `x${id}`],
    ['suffix', `${id}0`],
    ['braces', `{${id}}`],
    ['no hyphens', id.replace(/-/g, '')],
    ...[8, 13, 18, 23].map((at) => [`hyphen ${at} missing`, id.slice(0, at) + id.slice(at + 1)]),
    ['hyphen moved', '0f8e2c3-a4b5d-4e6f-8a9b-0c1d2e3f4a5b'],
    ['first group short', id.slice(1)],
    ['last group short', id.slice(0, -1)],
    ['middle group long', '0f8e2c3a-4b5d0-4e6f-8a9b-0c1d2e3f4a5'],
    ['accent', id.replace('e', '\u00e9')],
    ['two ids', `${id}${id}`],
  ])('refuses %s', (_label, variant) => {
    expect(isEndpointId(variant)).toBe(false);
  });

  test('the service answers a non-canonical id without asking the database', async () => {
    // Any use of the database fails the test: the answer must come from the id's form alone.
    const db = new Proxy({} as Db, {
      get: (_t, model) => {
        throw new Error(`database asked (${String(model)})`);
      },
    });
    const service = new EndpointService(db);
    const bad = `${randomUUID()} `;
    await expect(service.find(bad)).resolves.toBeNull();
    await expect(service.remove(bad)).resolves.toBe(false);
    await expect(service.checkToken(bad, 'any')).resolves.toBe('unknown-endpoint');
  });
});

eachTarget('identifiers compare exactly', (target) => {
  const relay = useRelay(target);
  let ep: CreatedEndpoint;
  let a: Client;
  let b: Client;

  beforeAll(async () => {
    const t = relay();
    ep = await accentableEndpoint(t, 'identity');
    a = await connect(t.wsUrl(ep.id, ep.token), {}, 'a');
    b = await connect(t.wsUrl(ep.id, ep.token), {}, 'b');
  });
  afterAll(async () => {
    await closeAll([a, b].filter(Boolean));
  });

  /** a's frame reaches b: the canonical clients still relay to each other. */
  async function stillRelaying(text: string) {
    const before = b.frames.length;
    await a.send(text, false);
    await b.waitForCount(before + 1);
    expect(b.frames[before].data.toString('utf8')).toBe(text);
  }

  it('the canonical id works (control)', async () => {
    const res = await relay().request('GET', `/api/endpoints/${ep.id}`);
    expect(res.status).toBe(200);
    await stillRelaying('control');
  });

  it.each(['', '/stats', '/alert-rules', '/alerts', '/devices/d1/data'])(
    'GET /api/endpoints/<variant>%s is 404 for every variant of the id',
    async (suffix) => {
      for (const [label, variant] of variantsOf(ep.id)) {
        const res = await relay().request('GET', `/api/endpoints/${encodeURIComponent(variant)}${suffix}`);
        expect([label, res.status]).toEqual([label, 404]);
      }
    },
  );

  it('POST alert-rules on a variant id is 404 and creates nothing', async () => {
    for (const [label, variant] of variantsOf(ep.id)) {
      const res = await relay().request('POST', `/api/endpoints/${encodeURIComponent(variant)}/alert-rules`, {
        body: { field: 'x', operator: '>', threshold: 1 },
      });
      expect([label, res.status]).toEqual([label, 404]);
    }
    const rules = await relay().request<unknown[]>('GET', `/api/endpoints/${ep.id}/alert-rules`);
    expect(rules.body).toEqual([]);
  });

  it('a WebSocket upgrade with a variant id and the right token is refused with 404', async () => {
    for (const [label, variant] of variantsOf(ep.id)) {
      const refused = await expectRefused(rawWsUrl(relay(), variant, ep.token));
      expect([label, refused.status]).toEqual([label, 404]);
    }
    // No ghost connection was counted and the canonical clients are untouched.
    expect(relay().relay.connections.count(ep.id)).toBe(2);
    await eventually(
      () => relay().stats(ep.id),
      (s) => s.currentConnections === 2,
      { what: 'currentConnections back to 2' },
    );
    await stillRelaying('after refused variants');
  });

  it('a variant of the token is refused with 401', async () => {
    const token = ep.token;
    const tokenVariants: Array<[string, string]> = [
      ['upper case', token.toUpperCase()],
      ['lower case', token.toLowerCase()],
      ['trailing space', `${token} `],
      ['accented', token.replace(/[a-z]/, (c) => `${c}\u0301`)],
    ];
    for (const [label, variant] of tokenVariants) {
      if (variant === token) continue;
      const refused = await expectRefused(rawWsUrl(relay(), ep.id, variant));
      expect([label, refused.status]).toEqual([label, 401]);
    }
  });

  it('DELETE with a variant id is 404 and leaves the endpoint, its clients and its relaying alone', async () => {
    for (const [label, variant] of variantsOf(ep.id)) {
      const res = await relay().request('DELETE', `/api/endpoints/${encodeURIComponent(variant)}`);
      expect([label, res.status]).toEqual([label, 404]);
    }
    expect((await relay().request('GET', `/api/endpoints/${ep.id}`)).status).toBe(200);
    expect(a.isOpen && b.isOpen).toBe(true);
    await stillRelaying('after variant deletes');
    const stats = await relay().stats(ep.id);
    expect(stats.currentConnections).toBe(2);
  });

  it('device data is looked up by the exact deviceId (case, trailing space, accents)', async () => {
    const t = relay();
    const deviceId = 'sensor-é';
    const payloads = [
      [deviceId, { v: 'exact' }],
      ['sensor-e', { v: 'plain e' }],
      ['sensor-e\u0301', { v: 'combining' }],
      ['SENSOR-É', { v: 'upper' }],
      [`${deviceId} `, { v: 'trailing space' }],
    ] as const;
    for (const [id, payload] of payloads) {
      await t.relay.db.prisma.deviceData.create({ data: { endpointId: ep.id, deviceId: id, payload } });
    }
    for (const [id, payload] of payloads) {
      const res = await t.request<Array<{ deviceId: string; payload: unknown }>>(
        'GET',
        `/api/endpoints/${ep.id}/devices/${encodeURIComponent(id)}/data`,
      );
      expect(res.status).toBe(200);
      const got = res.body.map((row) => [row.deviceId, row.payload]);
      expect([JSON.stringify(id), got]).toEqual([JSON.stringify(id), [[id, payload]]]);
    }
    const absent = await t.request<unknown[]>(
      'GET',
      `/api/endpoints/${ep.id}/devices/${encodeURIComponent('Sensor-é')}/data`,
    );
    expect(absent.body).toEqual([]);
  });

  it('the database itself compares ids exactly (no collation folds case, trailing space or accents)', async () => {
    const prisma = relay().relay.db.prisma;
    for (const [label, variant] of variantsOf(ep.id)) {
      const row = await prisma.endpoint.findUnique({ where: { id: variant }, select: { id: true } });
      expect([label, row]).toEqual([label, null]);
      const stats = await prisma.endpointStats.count({ where: { endpointId: variant } });
      expect([label, stats]).toEqual([label, 0]);
    }
    expect(await prisma.endpointStats.count({ where: { endpointId: ep.id } })).toBe(1);
  });

  it('stats never drift: variant attempts leave the counters exact after the clients leave', async () => {
    const t = relay();
    const other = await accentableEndpoint(t, 'identity-stats');
    const c = await connect(t.wsUrl(other.id, other.token), {}, 'c');
    for (const [, variant] of variantsOf(other.id)) {
      await expectRefused(rawWsUrl(t, variant, other.token)).catch(() => undefined);
    }
    await c.close();
    const final = await eventually(
      () => t.stats(other.id),
      (s) => s.currentConnections === 0,
      { what: 'currentConnections back to 0' },
    );
    await sleep(100);
    expect(await t.stats(other.id)).toMatchObject({ currentConnections: 0, totalConnections: 1 });
    expect(final.totalConnections).toBe(1);
  });
});
