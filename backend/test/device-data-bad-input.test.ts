import { dialectOf } from '../src/db/dialects';
import { eachDb } from './helpers/databases';
import { metricValue } from './helpers/db-outage';
import { useRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

interface Row {
  deviceId: string;
  payload: unknown;
}

const nest = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

async function metrics(t: TestRelay): Promise<string> {
  const res = await t.request('GET', '/metrics');
  if (res.status !== 200) throw new Error(`metrics: ${res.status}`);
  return res.text;
}

const rejected = (reason: string) => `relay_device_data_rejected_total{reason="${reason}"}`;
const errors = (c: Client) => c.json<{ type: string; message: string }>().filter((m) => m.type === 'error');

/**
 * Readings the database would refuse (or silently alter) are refused at the door, on both
 * databases, with an error frame to their sender; they never reach the queue, so the readings
 * of everyone else keep being stored. Their neighbours that the database does take are stored
 * unchanged. Frames that declare device data but are not JSON are answered too.
 */
eachDb('bad device readings', (db) => {
  const relay = useRelay(
    { name: `${db.name}/batched`, db, statsMode: 'batched' },
    { STATS_FLUSH_INTERVAL_MS: '50' },
  );
  const maxDepth = dialectOf(db.name).maxJsonDepth;

  async function setup() {
    const t = relay();
    const ep = await t.createEndpoint('bad-input');
    const sender = await connect(t.wsUrl(ep.id, ep.token), {}, 'sender');
    const peer = await connect(t.wsUrl(ep.id, ep.token), {}, 'peer');
    const rows = async (deviceId: string) => {
      const res = await t.request<Row[]>(
        'GET',
        `/api/endpoints/${ep.id}/devices/${encodeURIComponent(deviceId)}/data?limit=100`,
      );
      if (res.status !== 200) throw new Error(`rows: ${res.status} ${res.text}`);
      return res.body;
    };
    return { t, ep, sender, peer, rows };
  }

  // Each as the raw text a device sends: JSON escapes, numbers JSON.parse turns into Infinity.
  test.each([
    [
      'a lone low surrogate (the 59-byte frame)',
      '{"type":"device_data","deviceId":"s","data":{"v":"\\udfff"}}',
      'invalid_unicode',
    ],
    [
      'a lone high surrogate at the end of a string',
      '{"type":"device_data","deviceId":"s","data":{"v":"ab\\ud800"}}',
      'invalid_unicode',
    ],
    [
      'a lone surrogate in a key',
      '{"type":"device_data","deviceId":"s","data":{"\\ud800":1}}',
      'invalid_unicode',
    ],
    [
      'reversed surrogates in an array',
      '{"type":"device_data","deviceId":"s","data":{"v":["\\ude00\\ud83d"]}}',
      'invalid_unicode',
    ],
    [
      'a lone surrogate in the deviceId',
      '{"type":"device_data","deviceId":"s\\udc00","data":{"v":1}}',
      'invalid_unicode',
    ],
    ['1e400 (Infinity)', '{"type":"device_data","deviceId":"s","data":{"v":1e400}}', 'non_finite_number'],
    [
      '-1e400 nested in an array',
      '{"type":"device_data","deviceId":"s","data":{"v":[1,[-1e400]]}}',
      'non_finite_number',
    ],
    [
      'nesting one level past the limit',
      JSON.stringify({ type: 'device_data', deviceId: 's', data: nest(maxDepth + 1) }),
      'too_deep',
    ],
  ])('%s: error frame, not stored, counted; later readings are stored', async (_, text, reason) => {
    const { t, sender, peer, rows } = await setup();
    try {
      const before = metricValue(await metrics(t), rejected(reason));
      await sender.send(text);
      await sender.waitFor((f) => f.length >= 1, 5000, 'the error frame');
      expect(errors(sender)).toEqual([
        { type: 'error', message: expect.stringMatching(/^device data not stored: /) },
      ]);
      // Forwarded like any frame: the relay does not censor traffic, it refuses to store it.
      await peer.waitForCount(1);
      // A good reading sent after it is stored, so the bad one did not block the queue.
      await sender.send(JSON.stringify({ type: 'device_data', deviceId: 'ok', data: { v: 1 } }));
      await eventually(
        () => rows('ok'),
        (r) => r.length === 1,
        { what: 'the good reading stored' },
      );
      expect(await rows('s')).toEqual([]);
      expect(metricValue(await metrics(t), rejected(reason))).toBe(before + 1);
      expect(errors(sender)).toHaveLength(1);
    } finally {
      await closeAll([sender, peer]);
    }
  });

  test('neighbours the database takes are stored exactly as sent', async () => {
    const { sender, rows } = await setup();
    try {
      const accepted: [string, unknown][] = [
        ['pair', { v: '\ud83d\ude00', [`k\u00e9\ud83d\ude00`]: 'x' }],
        ['nul', { v: 'a\u0000b', ['n\u0000']: 1 }],
        ['at-limit', nest(maxDepth)],
        ['big', { v: 1e308, w: -1e308, tiny: 5e-324 }],
        ['unicode-id-\u00e9\ud83d\ude00', { v: 1 }],
      ];
      for (const [deviceId, data] of accepted) {
        await sender.send(JSON.stringify({ type: 'device_data', deviceId, data }));
      }
      for (const [deviceId, data] of accepted) {
        const stored = await eventually(
          () => rows(deviceId),
          (r) => r.length === 1,
          { what: `${deviceId} stored` },
        );
        expect(stored[0].payload).toEqual(data);
        expect(stored[0].deviceId).toBe(deviceId);
      }
      expect(errors(sender)).toEqual([]);
    } finally {
      await closeAll([sender]);
    }
  });

  test.each([
    ['NaN', '{"type":"device_data","deviceId":"p","data":{"t":NaN}}'],
    ['Infinity', '{"type":"device_data","deviceId":"p","data":{"t":Infinity}}'],
    ['a trailing comma', '{"type":"device_data","deviceId":"p","data":{"t":1,}}'],
    ['a truncated frame', '{"type":"device_data","deviceId":"p","data":{"t":1'],
    ['single quotes', "{'x':1,\"type\" : \"device_data\",'deviceId':'p'}"],
    ['type after other keys', '{"deviceId":"p","type":"device_data","data":{"t":undefined}}'],
  ])('a device frame with %s that JSON.parse refuses gets an error frame', async (_, text) => {
    const { t, sender, peer, rows } = await setup();
    try {
      const before = metricValue(await metrics(t), 'relay_device_frames_malformed_total');
      await sender.send(text);
      await sender.waitFor((f) => f.length >= 1, 5000, 'the error frame');
      expect(errors(sender)).toEqual([
        { type: 'error', message: expect.stringMatching(/^invalid device_data: not valid JSON/) },
      ]);
      await peer.waitForCount(1);
      expect(metricValue(await metrics(t), 'relay_device_frames_malformed_total')).toBe(before + 1);
      await sender.send(JSON.stringify({ type: 'device_data', deviceId: 'p', data: { t: 2 } }));
      const stored = await eventually(
        () => rows('p'),
        (r) => r.length >= 1,
        { what: 'the good reading' },
      );
      expect(stored.map((r) => r.payload)).toEqual([{ t: 2 }]);
    } finally {
      await closeAll([sender, peer]);
    }
  });

  test('a reading the database itself refuses, past the door check, is dropped alone and counted as refused; its neighbours are stored', async () => {
    const { t, sender, peer, rows } = await setup();
    // A rule the door check cannot know: the database refuses one device id (SQLite: a trigger,
    // SQLITE_CONSTRAINT_TRIGGER; MariaDB: a CHECK constraint, error 4025).
    const poison = `poison-${Date.now()}`;
    const rule = `refuse_${poison.replace('-', '_')}`;
    const prisma = t.relay.db.prisma;
    if (db.name === 'sqlite')
      await prisma.$executeRawUnsafe(
        `CREATE TRIGGER ${rule} BEFORE INSERT ON "DeviceData" WHEN NEW."deviceId" = '${poison}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
      );
    else
      await prisma.$executeRawUnsafe(
        `ALTER TABLE DeviceData ADD CONSTRAINT ${rule} CHECK (deviceId <> '${poison}')`,
      );
    try {
      const before = metricValue(await metrics(t), rejected('refused'));
      for (const deviceId of ['ok-1', poison, 'ok-2'])
        await sender.send(JSON.stringify({ type: 'device_data', deviceId, data: { v: 1 } }));
      await peer.waitForCount(3); // forwarded like any frame
      await eventually(
        async () => metricValue(await metrics(t), rejected('refused')),
        (v) => v === before + 1,
        { what: 'one reading counted as refused' },
      );
      expect(await rows('ok-1')).toHaveLength(1);
      expect(await rows('ok-2')).toHaveLength(1);
      expect(await rows(poison)).toEqual([]);
    } finally {
      await (db.name === 'sqlite'
        ? prisma.$executeRawUnsafe(`DROP TRIGGER ${rule}`)
        : prisma.$executeRawUnsafe(`ALTER TABLE DeviceData DROP CONSTRAINT ${rule}`));
      await closeAll([sender, peer]);
    }
  });

  test('frames that merely mention device_data get no error and are only forwarded', async () => {
    const { sender, peer } = await setup();
    try {
      const innocent = [
        'xx "device_data" yy',
        '{"type":"chat","text":"device_data"}',
        '{"type":"chat","text":"say \\"type\\":\\"device_data\\""',
        '"device_data"',
        '{"type":"device_data_v2","x":NaN}',
        'log: "type": "device_data" (not JSON, no opening brace before the key)',
      ];
      for (const text of innocent) await sender.send(text);
      // A frame that is answered, sent last: the relay answers in order, so once its error is
      // here, any answer to the frames before it would be too.
      await sender.send('{"type":"device_data","deviceId":"p","data":{"t":NaN}}');
      await sender.waitFor((f) => f.length >= 1, 5000, 'the sentinel error');
      await peer.waitForCount(innocent.length + 1);
      expect(errors(sender)).toHaveLength(1);
      expect(sender.frames).toHaveLength(1);
    } finally {
      await closeAll([sender, peer]);
    }
  });
});
