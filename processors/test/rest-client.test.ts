import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEndpoint, deleteEndpoint, mapLimit } from '../lib/rest-client';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A tiny HTTP server that records each request and answers with whatever the test set last. */
function stubServer() {
  const seen: Seen[] = [];
  let reply: { status: number; body: string } = { status: 200, body: '' };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
    });
  });
  return {
    seen,
    reply: (status: number, body: unknown = '') => {
      reply = { status, body: typeof body === 'string' ? body : JSON.stringify(body) };
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

describe('rest-client (the hooks’ REST calls)', () => {
  const stub = stubServer();
  let base: string;
  beforeAll(async () => {
    base = await stub.start();
  });
  afterAll(() => stub.stop());
  beforeEach(() => stub.seen.splice(0));

  describe('createEndpoint', () => {
    it('POSTs the name as JSON with the API key as a bearer token and returns id and token only', async () => {
      stub.reply(201, { id: 'ep-1', token: 'tok-1', name: 'perf-0', createdAt: 'x' });
      await expect(createEndpoint(base, 'k3y', 'perf-0')).resolves.toEqual({ id: 'ep-1', token: 'tok-1' });
      expect(stub.seen).toHaveLength(1);
      const [req] = stub.seen;
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/api/endpoints');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers.authorization).toBe('Bearer k3y');
      expect(JSON.parse(req.body)).toEqual({ name: 'perf-0' });
    });

    it('sends no authorization header without an API key (open relay)', async () => {
      stub.reply(201, { id: 'ep-2', token: 'tok-2' });
      await createEndpoint(base, undefined, 'n');
      await createEndpoint(base, '', 'n');
      expect(stub.seen.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
      expect(stub.seen[0].headers['content-type']).toBe('application/json');
    });

    it('fails on any status but 201, with the status and the start of the body', async () => {
      stub.reply(200, { id: 'ep', token: 't' });
      await expect(createEndpoint(base, 'k', 'n')).rejects.toThrow(
        `POST ${base}/api/endpoints -> 200 {"id":"ep","token":"t"}`,
      );
      stub.reply(500, 'y'.repeat(300));
      const err = (await createEndpoint(base, 'k', 'n').catch((e: unknown) => e)) as Error;
      // the body is cut at 200 characters so a HTML error page does not flood the log
      expect(err.message).toBe(`POST ${base}/api/endpoints -> 500 ${'y'.repeat(200)}`);
    });

    it('hints at API_KEY on a 401 only', async () => {
      stub.reply(401, 'unauthorized');
      await expect(createEndpoint(base, undefined, 'n')).rejects.toThrow(
        `POST ${base}/api/endpoints -> 401 unauthorized (is API_KEY set?)`,
      );
      stub.reply(403, 'forbidden');
      const err = (await createEndpoint(base, 'k', 'n').catch((e: unknown) => e)) as Error;
      expect(err.message).toBe(`POST ${base}/api/endpoints -> 403 forbidden`);
    });

    it.each([[{ token: 't' }], [{ id: 'i' }], [{ id: 7, token: 't' }], [{ id: 'i', token: null }]])(
      'rejects a 201 without a string id and token: %j',
      async (body) => {
        stub.reply(201, body);
        await expect(createEndpoint(base, 'k', 'n')).rejects.toThrow(
          `POST /api/endpoints returned no id/token: ${JSON.stringify(body)}`,
        );
      },
    );

    it('cuts the echoed body at 200 characters in that error too', async () => {
      const body = { id: 'i', pad: 'z'.repeat(400) };
      stub.reply(201, body);
      const err = (await createEndpoint(base, 'k', 'n').catch((e: unknown) => e)) as Error;
      expect(err.message).toBe(
        `POST /api/endpoints returned no id/token: ${JSON.stringify(body).slice(0, 200)}`,
      );
    });
  });

  describe('deleteEndpoint', () => {
    it('DELETEs the endpoint by its URL-encoded id with the bearer token', async () => {
      stub.reply(204);
      await expect(deleteEndpoint(base, 'k3y', 'a/b c')).resolves.toBeUndefined();
      expect(stub.seen).toHaveLength(1);
      expect(stub.seen[0].method).toBe('DELETE');
      expect(stub.seen[0].url).toBe('/api/endpoints/a%2Fb%20c');
      expect(stub.seen[0].headers.authorization).toBe('Bearer k3y');
      expect(stub.seen[0].headers['content-type']).toBe('application/json');
    });

    it('accepts any 2xx, and 404 (already gone: cleanup is idempotent)', async () => {
      for (const status of [200, 204, 299, 404]) {
        stub.reply(status, status === 204 ? '' : '{}');
        await expect(deleteEndpoint(base, undefined, 'x')).resolves.toBeUndefined();
      }
      expect(stub.seen.map((r) => r.headers.authorization)).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    });

    it.each([300, 401, 403, 500])('fails on %i, naming the id and the status', async (status) => {
      stub.reply(status, 'no');
      await expect(deleteEndpoint(base, 'k', 'ep-9')).rejects.toThrow(
        `DELETE /api/endpoints/ep-9 -> ${status}`,
      );
    });
  });

  describe('mapLimit', () => {
    it('keeps result order whatever order the calls finish in, and passes each index', async () => {
      const delays = [30, 5, 20, 0, 10];
      const out = await mapLimit(delays, 2, async (ms, i) => {
        await new Promise((r) => setTimeout(r, ms));
        return `${i}:${ms}`;
      });
      expect(out).toEqual(['0:30', '1:5', '2:20', '3:0', '4:10']);
    });

    it('never has more than `limit` calls in flight, and uses all of them', async () => {
      let inFlight = 0;
      let peak = 0;
      const calls: number[] = [];
      await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
        calls.push(n);
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return n;
      });
      expect(peak).toBe(3);
      expect(calls.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    });

    it('handles fewer items than the limit, and none', async () => {
      await expect(mapLimit([4], 8, async (n) => n * 2)).resolves.toEqual([8]);
      await expect(mapLimit([], 8, async (n: number) => n)).resolves.toEqual([]);
    });

    it('rejects with the first failure', async () => {
      await expect(
        mapLimit([1, 2, 3], 2, async (n) => {
          if (n === 2) throw new Error('boom 2');
          return n;
        }),
      ).rejects.toThrow('boom 2');
    });
  });
});
