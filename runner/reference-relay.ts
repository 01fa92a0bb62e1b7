/**
 * The reference relay: the thinnest forwarding relay Node and `ws` allow, with the project relay's
 * contract as far as the pack uses it, and nothing else (no auth, stats, database or logging). Its
 * capacity is the cost floor any full relay is measured against (`pnpm test:performance capacity`).
 *
 *   POST   /api/endpoints      -> 201 {"id", "token"}   (the body is ignored)
 *   DELETE /api/endpoints/:id  -> 204, closes the endpoint's sockets
 *   GET    /health             -> 200
 *   ws://host:port/ws/<id>?token=<any>: every frame goes, byte for byte and with its text/binary
 *   flag, to every other open socket of the endpoint (never back to its sender).
 *
 * Run: PORT=8080 HOST=127.0.0.1 node --import tsx runner/reference-relay.ts
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const peers = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'POST' && url === '/api/endpoints') {
    req.resume();
    const id = randomUUID();
    peers.set(id, new Set());
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id, token: id }));
    return;
  }
  const del = /^\/api\/endpoints\/([^/?]+)$/.exec(url);
  if (req.method === 'DELETE' && del) {
    const id = decodeURIComponent(del[1]);
    for (const ws of peers.get(id) ?? []) ws.close(1000);
    peers.delete(id);
    res.writeHead(204).end();
    return;
  }
  if (req.method === 'GET' && url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  res.writeHead(404).end();
});

server.on('upgrade', (req, socket, head) => {
  const m = /^\/ws\/([^/?]+)/.exec(req.url ?? '');
  const group = m ? peers.get(decodeURIComponent(m[1])) : undefined;
  if (!group) {
    socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    group.add(ws);
    ws.on('message', (data, isBinary) => {
      for (const peer of group) {
        if (peer !== ws && peer.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
      }
    });
    ws.on('close', () => group.delete(ws));
    ws.on('error', () => ws.terminate());
  });
});

server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');

process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
});
