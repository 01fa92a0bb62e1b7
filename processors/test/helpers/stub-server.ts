import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A tiny HTTP server that records each request and answers with whatever the test set last. */
export function stubServer() {
  const seen: Seen[] = [];
  let reply: { status: number; body: string } = { status: 200, body: '' };
  /** Per-URL answers (path and query as received); `reply`'s answer for any other URL. */
  let routes = new Map<string, { status: number; body: string }>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const answer = routes.get(req.url ?? '') ?? reply;
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  return {
    seen,
    reply: (status: number, body: unknown = '') => {
      reply = { status, body: typeof body === 'string' ? body : JSON.stringify(body) };
      routes = new Map();
    },
    /** Answers `url` with status and body (JSON unless a string) until the next `reply`. */
    route: (url: string, status: number, body: unknown) => {
      routes.set(url, { status, body: typeof body === 'string' ? body : JSON.stringify(body) });
    },
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A stub server for the enclosing describe block: started before its tests, stopped after,
 * its record of requests emptied before each test. `base()` is its http://127.0.0.1:<port>.
 */
export function useStubServer() {
  const stub = stubServer();
  let base = '';
  beforeAll(async () => {
    base = await stub.start();
  });
  afterAll(() => stub.stop());
  beforeEach(() => stub.seen.splice(0));
  return { stub, base: () => base };
}
