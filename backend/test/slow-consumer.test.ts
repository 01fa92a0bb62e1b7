import type net from 'node:net';
import type WebSocket from 'ws';
import { eachTarget } from './helpers/databases';
import { useRelay, type CreatedEndpoint, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

/*
 * WS_MAX_BUFFERED_BYTES: a client that stops reading is cut off once the relay holds more than
 * the cap for it; its peers keep getting every frame. Frames carry their sequence number in the
 * first 4 bytes so order and completeness are checked exactly.
 */

/** Payload of each relayed frame; 126..65535 bytes takes a 4-byte server header (no mask). */
const FRAME = 60_000;
const WIRE = FRAME + 4;
/** Four frames (240,016 bytes) sit 16 bytes under the cap; the fifth takes the backlog over it. */
const FITS = 4;
const CAP = FITS * WIRE + 16;

const frame = (seq: number): Buffer => {
  const b = Buffer.alloc(FRAME, seq & 0xff);
  b.writeUInt32BE(seq, 0);
  return b;
};
const seqs = (c: Client): number[] => c.frames.map((f) => f.data.readUInt32BE(0));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const tcp = (ws: WebSocket) => (ws as unknown as { _socket: net.Socket })._socket;

async function slowConsumerDrops(t: TestRelay): Promise<number> {
  const res = await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${t.apiKey}` } });
  const m = /^relay_disconnects_total\{reason="slow_consumer"\} (\d+)$/m.exec(await res.text());
  if (!m) throw new Error('relay_disconnects_total{reason="slow_consumer"} missing from /metrics');
  return Number(m[1]);
}

/** Connects `label` and returns its client plus the relay's socket for it. */
async function join(t: TestRelay, ep: CreatedEndpoint, label: string) {
  const before = new Set(t.relay.connections.sockets());
  const client = await connect(t.wsUrl(ep.id, ep.token), {}, label);
  const server = await eventually(
    async () => [...t.relay.connections.sockets()].filter((s) => !before.has(s)),
    (added) => added.length === 1,
    { what: `relay socket for ${label}` },
  );
  return { client, server: server[0] };
}

eachTarget('slow consumer', (target) => {
  {
    // No heartbeat inside a test: a ping (2 bytes on the wire) queued behind the paused client's
    // backlog made its exact byte count 240,018 instead of 240,016 once in CI. Heartbeats have
    // their own suites.
    const relay = useRelay(target, { WS_MAX_BUFFERED_BYTES: String(CAP), HEARTBEAT_INTERVAL_MS: '3600000' });
    const clients: Client[] = [];
    afterEach(async () => {
      for (const c of clients) tcp(c.ws)?.resume();
      await closeAll(clients.splice(0));
    });

    /** Readers a and b, the client under test, and a sender, all on one fresh endpoint. */
    async function setUp() {
      const t = relay();
      const ep = await t.createEndpoint('slow');
      const a = await join(t, ep, 'reader-a');
      const b = await join(t, ep, 'reader-b');
      const slow = await join(t, ep, 'slow');
      const sender = await join(t, ep, 'sender');
      clients.push(a.client, b.client, slow.client, sender.client);
      await eventually(
        () => t.stats(ep.id),
        (s) => s.currentConnections === 4,
        { what: 'four connections counted' },
      );
      return { t, ep, a: a.client, b: b.client, slow, sender: sender.client };
    }

    /** After the drop: the relay forgot the socket, counted it once, and its 'close' added nothing. */
    async function expectDroppedOnce(
      t: TestRelay,
      ep: CreatedEndpoint,
      server: WebSocket,
      dropsBefore: number,
    ) {
      expect(t.relay.connections.count(ep.id)).toBe(3);
      expect([...t.relay.connections.sockets()]).not.toContain(server);
      // The socket's own 'close' has run by the time it reads CLOSED.
      await eventually(
        async () => server.readyState,
        (s) => s === server.CLOSED,
        { what: 'relay socket closed' },
      );
      await t.relay.stats.drain();
      expect(await t.stats(ep.id)).toMatchObject({ currentConnections: 3, totalConnections: 4 });
      expect((await slowConsumerDrops(t)) - dropsBefore).toBe(1);
    }

    it('drops a client whose TCP socket stopped reading; the readers get every frame in order', async () => {
      const { t, ep, a, b, slow, sender } = await setUp();
      const dropsBefore = await slowConsumerDrops(t);
      // The kernel buffers on both sides fill first; then the relay's queue for it grows.
      tcp(slow.client.ws).pause();

      const LIMIT = 2000; // 120 MB: far beyond what loopback buffers absorb
      let sent = 0;
      while (t.relay.connections.count(ep.id) === 4 && sent < LIMIT) {
        for (let i = 0; i < 10; i++) await sender.send(frame(sent++));
        // Readers keep up, so only the paused client builds a backlog.
        await a.waitForCount(sent, 10_000);
        await b.waitForCount(sent, 10_000);
      }
      expect(t.relay.connections.count(ep.id)).toBe(3);
      // Traffic after the drop still reaches everyone left.
      for (let i = 0; i < 5; i++) await sender.send(frame(sent++));
      await a.waitForCount(sent, 10_000);
      await b.waitForCount(sent, 10_000);
      expect(seqs(a)).toEqual(range(0, sent));
      expect(seqs(b)).toEqual(range(0, sent));
      expect(sender.frames).toHaveLength(0);
      await expectDroppedOnce(t, ep, slow.server, dropsBefore);

      // Reading again, the dropped client gets an in-order prefix (what the kernel held), then
      // the abnormal close of a terminated socket.
      tcp(slow.client.ws).resume();
      expect((await slow.client.waitClosed(10_000)).code).toBe(1006);
      const got = seqs(slow.client);
      expect(got).toEqual(range(0, got.length));
      expect(got.length).toBeLessThan(sent);
    });

    it('keeps a client whose backlog fits under the cap, and drops it on the frame that goes over', async () => {
      const { t, ep, a, b, slow, sender } = await setUp();
      const dropsBefore = await slowConsumerDrops(t);
      // Corking the relay's socket stands in for full kernel buffers, so what the relay holds
      // for the client is exactly the frames sent: FITS frames are 16 bytes under the cap.
      tcp(slow.server).cork();
      for (let i = 0; i < FITS; i++) await sender.send(frame(i));
      await a.waitForCount(FITS);
      expect(slow.server.bufferedAmount).toBe(FITS * WIRE);
      expect(t.relay.connections.count(ep.id)).toBe(4);

      // Released, the burst is delivered whole and the client stays.
      tcp(slow.server).uncork();
      await slow.client.waitForCount(FITS);
      expect(seqs(slow.client)).toEqual(range(0, FITS));
      expect(slow.client.isOpen).toBe(true);
      expect(await slowConsumerDrops(t)).toBe(dropsBefore);

      // Again: the same burst still fits, and the one frame more takes it over the cap.
      tcp(slow.server).cork();
      for (let i = FITS; i < 2 * FITS; i++) await sender.send(frame(i));
      await a.waitForCount(2 * FITS);
      expect(slow.server.bufferedAmount).toBe(FITS * WIRE);
      expect(t.relay.connections.count(ep.id)).toBe(4);
      await sender.send(frame(2 * FITS));
      await a.waitForCount(2 * FITS + 1);
      await b.waitForCount(2 * FITS + 1);
      expect(t.relay.connections.count(ep.id)).toBe(3);
      expect(seqs(a)).toEqual(range(0, 2 * FITS + 1));
      expect(seqs(b)).toEqual(range(0, 2 * FITS + 1));
      await expectDroppedOnce(t, ep, slow.server, dropsBefore);
      expect((await slow.client.waitClosed()).code).toBe(1006);
    });
  }
});
