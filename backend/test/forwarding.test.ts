import { eachTarget } from './helpers/databases';
import { useRelay, type CreatedEndpoint } from './helpers/relay';
import { closeAll, connect, sleep, type Client } from './helpers/ws';

const MAX_PAYLOAD = 1024;

eachTarget('forwarding', (target) => {
  const relay = useRelay(target, { WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD) });

  interface Member {
    endpoint: number;
    index: number;
    client: Client;
    text: string;
    binary: Buffer;
  }

  let endpoints: CreatedEndpoint[];
  let members: Member[];

  // Fresh endpoints and clients per test: no test sees another's frames or closed sockets.
  beforeEach(async () => {
    const t = relay();
    endpoints = [
      await t.createEndpoint('fwd-a'),
      await t.createEndpoint('fwd-b'),
      await t.createEndpoint('fwd-c'),
    ];
    members = [];
    for (let e = 0; e < 3; e++) {
      for (let i = 0; i < 3; i++) {
        const client = await connect(t.wsUrl(endpoints[e].id, endpoints[e].token), {}, `e${e}c${i}`);
        // Unique per client; multi-byte UTF-8 (2, 3 and 4 byte sequences) in the text frame,
        // bytes that are not valid UTF-8 in the binary frame.
        const text = `text e${e}c${i} héllo ✓ 日本語 🚀 "quotes" \u0000 end`;
        const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, e, i, 0xed, 0xa0, 0x80, 0xf8, 0x88]);
        members.push({ endpoint: e, index: i, client, text, binary });
      }
    }
  });

  afterEach(async () => {
    await closeAll(members?.map((m) => m.client) ?? []);
  });

  it('registers every client with its endpoint', () => {
    const t = relay();
    for (const ep of endpoints) expect(t.relay.connections.count(ep.id)).toBe(3);
  });

  it('delivers each frame exactly once to every other client of the same endpoint, byte for byte, same type', async () => {
    for (const m of members) {
      await m.client.send(m.text, false);
      await m.client.send(m.binary, true);
    }
    // Each client must get 2 frames from each of the 2 others in its endpoint.
    await Promise.all(members.map((m) => m.client.waitForCount(4)));
    // Quiet period: any echo or cross-endpoint leak would show up as extra frames.
    await sleep(300);

    for (const m of members) {
      const peers = members.filter((o) => o.endpoint === m.endpoint && o !== m);
      const expected = peers.flatMap((p) => [
        { isBinary: false, hex: Buffer.from(p.text, 'utf8').toString('hex') },
        { isBinary: true, hex: p.binary.toString('hex') },
      ]);
      const got = m.client.frames.map((f) => ({ isBinary: f.isBinary, hex: f.data.toString('hex') }));
      const key = (x: { isBinary: boolean; hex: string }) => `${x.isBinary ? 'b' : 't'}:${x.hex}`;
      expect(got.map(key).sort()).toEqual(expected.map(key).sort());
    }
  });

  // A WebSocket stream is ordered; a relay must not reorder one sender's frames. (In immediate
  // mode each frame waits for its own stats write; on a connection pool those finish out of order.)
  it('preserves per-sender order under a burst of 300 frames (text and binary interleaved)', async () => {
    const [a, b, c] = members.filter((m) => m.endpoint === 1);
    const burst = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? Buffer.from([0xff, i & 0xff, i >> 8]) : `burst-${i}`,
    );
    await Promise.all(burst.map((f) => a.client.send(f)));
    await b.client.waitForCount(burst.length, 15000);
    await c.client.waitForCount(burst.length, 15000);
    const index = (f: { data: Buffer; isBinary: boolean }) =>
      f.isBinary ? f.data[1] + (f.data[2] << 8) : Number(f.data.toString().slice(6));
    for (const m of [b, c]) expect(m.client.frames.map(index)).toEqual(burst.map((_, i) => i));
    expect(a.client.frames).toHaveLength(0);
  });

  it('forwards empty frames and frames exactly at the payload limit', async () => {
    const [a, b, c] = members.filter((m) => m.endpoint === 1);
    const atLimit = Buffer.alloc(MAX_PAYLOAD, 0xab);
    await a.client.send(Buffer.alloc(0), true);
    await a.client.send('', false);
    await a.client.send(atLimit, true);
    await Promise.all([b.client.waitForCount(3), c.client.waitForCount(3)]);
    for (const m of [b, c]) {
      // Order is covered by its own test; here only what arrives.
      const got = m.client.frames.map((f) => [f.isBinary, f.data.length]).sort();
      expect(got).toEqual([
        [false, 0],
        [true, 0],
        [true, MAX_PAYLOAD],
      ]);
      expect(m.client.frames.find((f) => f.data.length === MAX_PAYLOAD)?.data.equals(atLimit)).toBe(true);
    }
    expect(a.client.isOpen).toBe(true);
  });

  it('closes the sender of an oversize frame with 1009, forwards nothing of it, and keeps serving the others', async () => {
    const t = relay();
    const [a, b, c] = members.filter((m) => m.endpoint === 2);

    await a.client.send(Buffer.alloc(MAX_PAYLOAD + 1, 0x41), true).catch(() => undefined);
    const closed = await a.client.waitClosed();
    expect(closed.code).toBe(1009);

    // The relay drops the socket from its endpoint...
    const deadline = Date.now() + 3000;
    while (t.relay.connections.count(endpoints[2].id) !== 2 && Date.now() < deadline) await sleep(20);
    expect(t.relay.connections.count(endpoints[2].id)).toBe(2);

    // ...and the two others of that endpoint, and everyone elsewhere, still talk.
    await b.client.send('after-oversize', false);
    await c.client.waitForCount(1);
    expect(c.client.frames.map((f) => f.data.toString())).toEqual(['after-oversize']);
    const [x, y] = members.filter((m) => m.endpoint === 0);
    await x.client.send('still-alive', false);
    await y.client.waitForCount(1);
    await sleep(200);
    expect(b.client.frames).toHaveLength(0);
    expect(y.client.frames.map((f) => f.data.toString())).toEqual(['still-alive']);
    // Nothing of the oversize frame reached anyone.
    for (const m of members)
      for (const f of m.client.frames) expect(f.data.length).toBeLessThanOrEqual(MAX_PAYLOAD);
  });
});
