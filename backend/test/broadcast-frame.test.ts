import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { ConnectionManager } from '../src/websocket/connection-manager';
import { FRAME_ONCE_SUPPORTED, prebuildFrame, sendPrebuilt } from '../src/websocket/prebuilt-frame';
import { eachTarget } from './helpers/databases';
import { useRelay } from './helpers/relay';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

/*
 * Frame once per broadcast: every recipient gets the same wire bytes, built once. Checked
 * against an independent RFC 6455 encoder on a raw TCP reader (the exact bytes on the wire),
 * and through ws clients (payload, frame type, order) around the length-encoding boundaries.
 */

/** Payload sizes around the 7-bit / 16-bit / 64-bit length boundaries. */
const SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];

/** RFC 6455 §5.2 server frame (FIN, no mask), written independently of ws. */
function rfcFrame(payload: Buffer, isBinary: boolean): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | (isBinary ? 0x2 : 0x1);
  if (n < 126) head[1] = n;
  else if (n < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Distinct content per size; text payloads are valid UTF-8 (ASCII plus a 2-byte character). */
function payloadOf(size: number, isBinary: boolean, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = isBinary ? (i * 31 + seed) & 0xff : 0x61 + ((i + seed) % 26);
  if (!isBinary && size >= 2) b.write('é', size - 2, 'utf8');
  return b;
}

/** A bare ws server whose sockets live in a ConnectionManager, as the relay's do. */
async function bareServer(maxBufferedBytes?: number) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 1 << 20 });
  const manager = new ConnectionManager(maxBufferedBytes);
  const drops: number[] = [];
  manager.onDrop((_id, _reason, bytes) => drops.push(bytes));
  const serverSockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    manager.add('ep', ws);
    serverSockets.push(ws);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    manager,
    drops,
    serverSockets,
    url: `ws://127.0.0.1:${port}`,
    port,
    async close() {
      for (const ws of serverSockets) ws.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Upgrades by hand and returns the raw TCP socket plus everything received after the handshake. */
async function rawReader(port: number): Promise<{ socket: Socket; bytes: () => Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      const chunks = [head];
      socket.on('data', (c: Buffer) => chunks.push(c));
      resolve({ socket, bytes: () => Buffer.concat(chunks) });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('frame once per broadcast (ConnectionManager on a bare ws server)', () => {
  let s: Awaited<ReturnType<typeof bareServer>>;
  let clients: Client[] = [];
  beforeEach(async () => {
    s = await bareServer();
  });
  afterEach(async () => {
    await closeAll(clients);
    clients = [];
    await s.close();
  });

  const join = async (n: number) => {
    for (let i = 0; i < n; i++) clients.push(await connect(s.url, {}, `r${i}`));
    await eventually(
      async () => s.manager.count('ep'),
      (c) => c === n,
      { what: `${n} registered` },
    );
  };

  test('uses ws internals in the installed ws version (else every send is a plain ws.send)', () => {
    expect(FRAME_ONCE_SUPPORTED).toBe(true);
    const frame = prebuildFrame(Buffer.from('abc'), false);
    expect(Buffer.concat(frame.wire!)).toEqual(rfcFrame(Buffer.from('abc'), false));
  });

  test('payloads up to 16 KiB go out as one buffer (header + copy); larger ones keep the payload uncopied', () => {
    for (const size of [0, 1, 125, 126, 16 * 1024]) {
      const p = payloadOf(size, true, size);
      const frame = prebuildFrame(p, true);
      expect(frame.wire).toHaveLength(1);
      expect(frame.wire![0].equals(rfcFrame(p, true))).toBe(true);
    }
    for (const size of [16 * 1024 + 1, 65_536]) {
      const p = payloadOf(size, false, size);
      const frame = prebuildFrame(p, false);
      expect(frame.wire).toHaveLength(2);
      expect(frame.wire![1]).toBe(p);
      expect(Buffer.concat(frame.wire!).equals(rfcFrame(p, false))).toBe(true);
    }
  });

  test('an idle recipient gets the prebuilt bytes through its Sender, without ws.send', async () => {
    await join(2);
    const spies = s.serverSockets.map((ws) => jest.spyOn(ws, 'send'));
    expect(s.manager.broadcast('ep', null, Buffer.from('once'), false)).toBe(2);
    for (const c of clients) await c.waitForCount(1);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    expect(clients.map((c) => c.frames[0].data.toString())).toEqual(['once', 'once']);
  });

  test('writes the exact RFC 6455 bytes around every length boundary, text and binary', async () => {
    const raw = await rawReader(s.port);
    await eventually(
      async () => s.manager.count('ep'),
      (c) => c === 1,
      { what: 'raw reader registered' },
    );
    const expected: Buffer[] = [];
    for (const size of SIZES) {
      for (const isBinary of [false, true]) {
        const p = payloadOf(size, isBinary, size);
        expect(s.manager.broadcast('ep', null, p, isBinary)).toBe(1);
        expected.push(rfcFrame(p, isBinary));
      }
    }
    const all = Buffer.concat(expected);
    await eventually(
      async () => raw.bytes().length,
      (n) => n >= all.length,
      { what: `${all.length} wire bytes` },
    );
    expect(raw.bytes().equals(all)).toBe(true);
    raw.socket.destroy();
  });

  test('delivers the same payload and frame type to many recipients, none to the sender, in order', async () => {
    await join(12);
    const senderServerSide = s.serverSockets[0];
    const sent: { p: Buffer; isBinary: boolean }[] = [];
    for (const size of SIZES) {
      for (const isBinary of [false, true]) {
        const p = payloadOf(size, isBinary, sent.length);
        sent.push({ p, isBinary });
        expect(s.manager.broadcast('ep', senderServerSide, p, isBinary)).toBe(11);
      }
    }
    // A string (the relay's own alerts) goes out as its UTF-8 bytes in a text frame.
    s.manager.broadcast('ep', senderServerSide, 'alerte: température', false);
    sent.push({ p: Buffer.from('alerte: température'), isBinary: false });

    // clients[0] is the sender's peer (first to connect, first server socket).
    for (const c of clients.slice(1)) await c.waitForCount(sent.length, 15_000);
    for (const c of clients.slice(1)) {
      expect(c.frames.map((f) => f.isBinary)).toEqual(sent.map((x) => x.isBinary));
      c.frames.forEach((f, i) => expect(f.data.equals(sent[i].p)).toBe(true));
    }
    expect(clients[0].frames).toHaveLength(0);
  });

  test('keeps order behind a frame ws is still preparing for one recipient (falls back to its queue)', async () => {
    await join(2);
    // A Blob send leaves that recipient's Sender busy reading it; the broadcast must queue
    // behind it, not overtake it on the wire.
    s.serverSockets[0].send(new Blob([Buffer.from('first')]) as unknown as Buffer);
    s.manager.broadcast('ep', null, Buffer.from('second'), false);
    await clients[0].waitForCount(2);
    await clients[1].waitForCount(1);
    expect(clients[0].frames.map((f) => f.data.toString())).toEqual(['first', 'second']);
    expect(clients[0].frames.map((f) => f.isBinary)).toEqual([true, false]);
    expect(clients[1].frames.map((f) => f.data.toString())).toEqual(['second']);
  });

  test('a recipient whose socket dies mid-broadcast is skipped or errors quietly; the others get every frame', async () => {
    await join(5);
    const dying = s.serverSockets[2];
    const closed = new Promise((r) => dying.once('close', r));
    for (let i = 0; i < 50; i++) {
      // Still OPEN to ws when its TCP socket is destroyed underneath, mid-run.
      if (i === 10) (dying as unknown as { _socket: Socket })._socket.destroy();
      s.manager.broadcast('ep', null, Buffer.from(`f${i}`), false);
    }
    await closed;
    for (const [i, c] of clients.entries()) {
      if (i === 2) continue;
      await c.waitForCount(50);
      expect(c.frames.map((f) => f.data.toString())).toEqual(Array.from({ length: 50 }, (_, k) => `f${k}`));
    }
    expect(clients[2].frames.length).toBeLessThanOrEqual(10);
  });

  test('a socket closing (readyState CLOSING) is skipped and not counted', async () => {
    await join(3);
    s.serverSockets[1].close(1000, 'bye');
    expect(s.manager.broadcast('ep', null, Buffer.from('x'), true)).toBe(2);
    await clients[0].waitForCount(1);
    await clients[2].waitForCount(1);
    await clients[1].waitClosed();
    expect(clients[1].frames).toHaveLength(0);
  });
});

describe('writes coalesced per recipient per event-loop turn', () => {
  let s: Awaited<ReturnType<typeof bareServer>>;
  let clients: Client[] = [];
  afterEach(async () => {
    await closeAll(clients);
    clients = [];
    await s.close();
  });

  test("one turn's frames reach a recipient's socket in one writev, in order, flushed by the end of the turn", async () => {
    s = await bareServer();
    clients.push(await connect(s.url, {}, 'r'));
    await eventually(
      async () => s.manager.count('ep'),
      (c) => c === 1,
      { what: 'registered' },
    );
    const socket = (s.serverSockets[0] as unknown as { _socket: Socket })._socket;
    const writev = jest.spyOn(socket, '_writev');
    const write = jest.spyOn(socket, '_write');
    for (let i = 0; i < 20; i++) s.manager.broadcast('ep', null, Buffer.from(`c${i}`), false);
    expect(writev).not.toHaveBeenCalled(); // held until the turn ends
    await new Promise((r) => setImmediate(r));
    expect(writev).toHaveBeenCalledTimes(1);
    expect(write).not.toHaveBeenCalled();
    await clients[0].waitForCount(20);
    expect(clients[0].frames.map((f) => f.data.toString())).toEqual(
      Array.from({ length: 20 }, (_, i) => `c${i}`),
    );
    // A later turn with one frame is written on its own, again by the end of that turn.
    s.manager.broadcast('ep', null, Buffer.from('alone'), false);
    await new Promise((r) => setImmediate(r));
    expect(writev.mock.calls.length + write.mock.calls.length).toBe(2);
    await clients[0].waitForCount(21);
  });

  test('a reading client sent more than the cap within one turn is not taken for a slow one', async () => {
    const CAP = 200_000;
    s = await bareServer(CAP);
    clients.push(await connect(s.url, {}, 'reader'));
    await eventually(
      async () => s.manager.count('ep'),
      (c) => c === 1,
      { what: 'registered' },
    );
    const frame = Buffer.alloc(60_000, 3);
    // 600 KB in one turn: corked, it would all count as held; it is handed to the kernel first.
    for (let i = 0; i < 10; i++) expect(s.manager.broadcast('ep', null, frame, true)).toBe(1);
    expect(s.drops).toHaveLength(0);
    await clients[0].waitForCount(10);
    expect(clients[0].isOpen).toBe(true);
  });
});

describe('frame once: the slow-consumer cap still sees the shared frames', () => {
  test('a paused reader is dropped once its backlog passes the cap; a reading peer gets everything', async () => {
    const CAP = 200_000;
    const s = await bareServer(CAP);
    const clients = [await connect(s.url, {}, 'reader'), await connect(s.url, {}, 'paused')];
    try {
      await eventually(
        async () => s.manager.count('ep'),
        (c) => c === 2,
        { what: '2 registered' },
      );
      (clients[1].ws as unknown as { _socket: Socket })._socket.pause();
      const frame = Buffer.alloc(60_000, 7);
      let sent = 0;
      // Kernel buffers take some; the relay's own backlog must pass the cap within a bounded run.
      while (s.drops.length === 0 && sent < 2000) {
        s.manager.broadcast('ep', null, frame, true);
        sent++;
        await new Promise((r) => setImmediate(r));
      }
      expect(s.drops).toHaveLength(1);
      expect(s.drops[0]).toBeGreaterThan(CAP);
      expect(s.manager.count('ep')).toBe(1);
      await clients[0].waitForCount(sent, 15_000);
      expect(clients[0].frames.every((f) => f.isBinary && f.data.equals(frame))).toBe(true);
    } finally {
      await closeAll(clients);
      await s.close();
    }
  });
});

eachTarget('frame once through the relay', (target) => {
  const relay = useRelay(target);
  let clients: Client[] = [];
  afterEach(async () => {
    await closeAll(clients);
    clients = [];
  });

  test('two senders, eight readers: exact bytes up to WS_MAX_PAYLOAD_BYTES, type kept, no echo, order per sender', async () => {
    const t = relay();
    const max = t.relay.ws.wss.options.maxPayload!;
    const ep = await t.createEndpoint('frame-once');
    const a = await connect(t.wsUrl(ep.id, ep.token), {}, 'a');
    const b = await connect(t.wsUrl(ep.id, ep.token), {}, 'b');
    const readers: Client[] = [];
    for (let i = 0; i < 8; i++) readers.push(await connect(t.wsUrl(ep.id, ep.token), {}, `reader${i}`));
    clients.push(a, b, ...readers);
    const sizes = [0, 125, 126, 65_535, max].filter((n) => n <= max);
    const fromA: Buffer[] = [];
    const fromB: Buffer[] = [];
    const sends: Promise<void>[] = [];
    for (const [k, size] of sizes.entries()) {
      const pa = payloadOf(size, true, k);
      pa[0] = 0xaa; // binary frames never look like device data
      const pb = payloadOf(size, false, k + 100);
      fromA.push(pa);
      fromB.push(pb);
      sends.push(a.send(pa, true), b.send(pb, false));
    }
    await Promise.all(sends);
    const n = sizes.length;
    for (const r of readers) await r.waitForCount(2 * n, 15_000);
    await a.waitForCount(n);
    await b.waitForCount(n);
    for (const r of readers) {
      const gotA = r.frames.filter((f) => f.isBinary).map((f) => f.data);
      const gotB = r.frames.filter((f) => !f.isBinary).map((f) => f.data);
      expect(gotA.map((d) => d.length)).toEqual(fromA.map((d) => d.length));
      gotA.forEach((d, i) => expect(d.equals(fromA[i])).toBe(true));
      gotB.forEach((d, i) => expect(d.equals(fromB[i])).toBe(true));
    }
    // No echo: each sender saw only the other's frames, of the other's type.
    expect(a.frames.every((f) => !f.isBinary)).toBe(true);
    expect(b.frames.every((f) => f.isBinary)).toBe(true);
  });
});

describe('sendPrebuilt falls back to ws.send whenever the Sender is not idle', () => {
  const frame = prebuildFrame(Buffer.from('x'), false);
  const idle = () => ({
    _state: 0,
    _queue: [] as unknown[],
    _firstFragment: true,
    _extensions: {} as Record<string, unknown>,
    sendFrame: jest.fn(),
  });
  const socketWith = (sender: ReturnType<typeof idle>) =>
    ({ _sender: sender, send: jest.fn() }) as unknown as WebSocket & { send: jest.Mock };

  type Arrange = (s: ReturnType<typeof idle>) => void;
  test.each<[string, 'sendFrame' | 'send', Arrange]>([
    ['idle', 'sendFrame', () => undefined],
    ['busy state (deflate or blob read)', 'send', (s) => void (s._state = 1)],
    ['frames queued', 'send', (s) => void s._queue.push({})],
    ['inside a fragmented message', 'send', (s) => void (s._firstFragment = false)],
    ['permessage-deflate negotiated', 'send', (s) => void (s._extensions['permessage-deflate'] = {})],
  ])('%s: %s', (_name, expected, arrange) => {
    const sender = idle();
    arrange(sender);
    const ws = socketWith(sender);
    sendPrebuilt(ws, frame);
    if (expected === 'sendFrame') {
      expect(sender.sendFrame).toHaveBeenCalledWith(frame.wire);
      expect(ws.send).not.toHaveBeenCalled();
    } else {
      expect(sender.sendFrame).not.toHaveBeenCalled();
      expect(ws.send).toHaveBeenCalledWith(frame.payload, { binary: false });
    }
  });

  test('a frame built without ws internals (wire null) is sent with ws.send, binary kept', () => {
    const sender = idle();
    const ws = socketWith(sender);
    const bare = { payload: Buffer.from([1, 2]), isBinary: true, wire: null };
    sendPrebuilt(ws, bare);
    expect(sender.sendFrame).not.toHaveBeenCalled();
    expect(ws.send).toHaveBeenCalledWith(bare.payload, { binary: true });
  });
});
