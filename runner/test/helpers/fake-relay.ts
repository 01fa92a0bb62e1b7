/**
 * A throwaway relay that honours the REST + WebSocket contract, for unit tests of
 * the processor and runner plumbing. It is deliberately not the product: the
 * end-to-end smoke test runs against the real backend.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeRelay {
  url: string;
  close(): Promise<void>;
  /** Drop every n-th forwarded frame, to prove loss is detected. */
  dropEvery: number;
}

export async function startFakeRelay(apiKey?: string): Promise<FakeRelay> {
  const endpoints = new Map<string, { token: string; sockets: Set<WebSocket> }>();
  const relay: FakeRelay = { url: '', close: async () => undefined, dropEvery: 0 };
  let forwarded = 0;

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
      ws.on('close', () => ep.sockets.delete(ws));
      ws.on('message', (data, isBinary) => {
        for (const peer of ep.sockets) {
          if (peer === ws || peer.readyState !== peer.OPEN) continue;
          forwarded++;
          if (relay.dropEvery > 0 && forwarded % relay.dropEvery === 0) continue;
          peer.send(data, { binary: isBinary });
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
