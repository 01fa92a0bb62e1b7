/**
 * A throwaway relay that honours the REST + WebSocket contract, for unit tests of
 * the processor and runner plumbing. It is deliberately not the product: the
 * end-to-end smoke test runs against the real backend.
 *
 * It can misbehave on purpose (drop, duplicate, echo frames) and counts what it
 * did itself, so a test compares the processor's ledger with an independent count
 * instead of with a figure derived from the ledger.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** Deliberate faults; 0 turns one off. Counted per relay, over its whole life. */
export interface FakeRelayFaults {
  /** Drop every n-th offered delivery (relay-wide count of (frame, open peer) pairs). */
  dropEvery: number;
  /** Send the n-th frame received from each socket twice to every peer. */
  duplicateNth: number;
  /** Echo the n-th frame received from each socket back to its own sender. */
  echoNth: number;
}

/** What the relay did, counted at the relay. */
export interface FakeRelayCounts {
  /** Frames received from clients. */
  received: number;
  /** Deliveries offered: one per (frame, other peer open on its endpoint). */
  offered: number;
  /** Offered deliveries written to the peer (each counted once, copies not included). */
  written: number;
  /** Offered deliveries not written (dropEvery). */
  dropped: number;
  /** Extra copies written (duplicateNth). */
  duplicated: number;
  /** Frames written back to their own sender (echoNth). */
  echoed: number;
}

export interface FakeRelay {
  url: string;
  faults: FakeRelayFaults;
  readonly counts: FakeRelayCounts;
  close(): Promise<void>;
}

export async function startFakeRelay(
  apiKey?: string,
  faults: Partial<FakeRelayFaults> = {},
): Promise<FakeRelay> {
  const endpoints = new Map<string, { token: string; sockets: Set<WebSocket> }>();
  const counts: FakeRelayCounts = {
    received: 0,
    offered: 0,
    written: 0,
    dropped: 0,
    duplicated: 0,
    echoed: 0,
  };
  const relay: FakeRelay = {
    url: '',
    faults: { dropEvery: 0, duplicateNth: 0, echoNth: 0, ...faults },
    counts,
    close: async () => undefined,
  };

  const server = http.createServer((req, res) => {
    const send = (code: number, body?: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.url === '/health') return send(200, { status: 'ok', db: 'up' });
    if (apiKey && req.headers.authorization !== `Bearer ${apiKey}`)
      return send(401, { error: 'unauthorized' });
    if (req.method === 'POST' && req.url === '/api/endpoints') {
      const id = randomUUID();
      endpoints.set(id, { token: randomUUID(), sockets: new Set() });
      return send(201, {
        id,
        name: 'x',
        token: endpoints.get(id)?.token,
        wsUrl: `/ws/${id}`,
        createdAt: new Date(),
      });
    }
    const del = /^\/api\/endpoints\/([^/]+)$/.exec(req.url ?? '');
    if (req.method === 'DELETE' && del) return send(endpoints.delete(del[1]) ? 204 : 404);
    send(404, { error: 'not found' });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '', 'http://x');
    const id = /^\/ws\/([^/]+)$/.exec(url.pathname)?.[1];
    const ep = id ? endpoints.get(id) : undefined;
    if (!ep || url.searchParams.get('token') !== ep.token) {
      socket.end(`HTTP/1.1 ${ep ? 401 : 404} x\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ep.sockets.add(ws);
      let fromThisSocket = 0;
      ws.on('close', () => ep.sockets.delete(ws));
      ws.on('message', (data, isBinary) => {
        counts.received++;
        fromThisSocket++;
        const { dropEvery, duplicateNth, echoNth } = relay.faults;
        const copies = duplicateNth > 0 && fromThisSocket === duplicateNth ? 2 : 1;
        if (echoNth > 0 && fromThisSocket === echoNth) {
          ws.send(data, { binary: isBinary });
          counts.echoed++;
        }
        for (const peer of ep.sockets) {
          if (peer === ws || peer.readyState !== peer.OPEN) continue;
          counts.offered++;
          if (dropEvery > 0 && counts.offered % dropEvery === 0) {
            counts.dropped++;
            continue;
          }
          for (let i = 0; i < copies; i++) peer.send(data, { binary: isBinary });
          counts.written++;
          counts.duplicated += copies - 1;
        }
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  relay.url = `ws://127.0.0.1:${port}`;
  relay.close = async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return relay;
}
