import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createDb } from '../src/db/client';
import { eachDb, requireDb, tempSqliteUrl } from './helpers/databases';
import { startTestRelay } from './helpers/relay';
import { freePort, spawnRelay, waitHealthy, within, type RelayProcess } from './helpers/process';
import { connect, type Client } from './helpers/ws';

/** Completes a WebSocket upgrade by hand, then never reads or answers anything. */
async function rawUpgrade(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve) =>
    socket.once('data', (c: Buffer) => resolve(c.toString())),
  );
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`raw upgrade refused: ${head.split('\r\n')[0]}`);
  socket.pause(); // from now on: deaf
  return socket;
}

interface Booted {
  proc: RelayProcess;
  port: number;
  apiKey: string;
  dbFile: string;
  ep: { id: string; token: string };
  wsUrl: string;
}

/** Starts `tsx backend/src/main.ts` on a free port and a fresh SQLite file, with one endpoint. */
async function boot(): Promise<Booted> {
  const port = await freePort();
  const apiKey = `shutdown-key-${randomBytes(12).toString('hex')}`;
  const dbUrl = tempSqliteUrl('shutdown');
  const proc = spawnRelay({
    PORT: String(port),
    HOST: '127.0.0.1',
    API_KEY: apiKey,
    DATABASE_URL: dbUrl,
    STATS_MODE: 'immediate',
    LOG_LEVEL: 'debug',
  });
  await waitHealthy(port, proc);
  const created = await fetch(`http://127.0.0.1:${port}/api/endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'shutdown' }),
  });
  expect(created.status).toBe(201);
  const ep = (await created.json()) as { id: string; token: string };
  const wsUrl = `ws://127.0.0.1:${port}/ws/${ep.id}?token=${encodeURIComponent(ep.token)}`;
  return { proc, port, apiKey, dbFile: dbUrl.replace(/^file:/, ''), ep, wsUrl };
}

function statsRow(b: Booted) {
  const db = new Database(b.dbFile, { readonly: true });
  try {
    return db
      .prepare(
        'SELECT currentConnections, totalConnections, totalMessages FROM EndpointStats WHERE endpointId = ?',
      )
      .get(b.ep.id);
  } finally {
    db.close();
  }
}

describe('graceful shutdown of the real entry point', () => {
  let booted: Booted | undefined;
  afterEach(() => {
    const proc = booted?.proc;
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    booted = undefined;
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: closes clients with 1001, finishes pending stats writes, exits 0 within 10 s',
    async (signal) => {
      const b = (booted = await boot());
      const clients: Client[] = [await connect(b.wsUrl, {}, 'a'), await connect(b.wsUrl, {}, 'b')];
      await clients[0].send('before-shutdown');
      await clients[1].waitForCount(1);

      const sent = Date.now();
      b.proc.child.kill(signal);
      const closes = await Promise.all(clients.map((c) => c.waitClosed(10000)));
      for (const c of closes) expect(c.code).toBe(1001);
      const exit = await within(b.proc.exited, 10000, 'relay did not exit');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - sent).toBeLessThan(10000);

      // Nothing listens any more.
      await expect(fetch(`http://127.0.0.1:${b.port}/health`)).rejects.toThrow(/fetch failed/);
      // The disconnect writes started by the shutdown were finished before the DB was closed.
      expect(statsRow(b)).toEqual({ currentConnections: 0, totalConnections: 2, totalMessages: 1 });

      // No secrets in the logs, even at debug level.
      const logs = b.proc.stdout() + b.proc.stderr();
      expect(logs.length).toBeGreaterThan(0);
      expect(logs).not.toContain(b.apiKey);
      expect(logs).not.toContain(b.ep.token);
    },
  );

  it('SIGTERM with a client that never answers the close handshake: still exits 0 within 10 s and records its disconnect', async () => {
    const b = (booted = await boot());
    const polite = await connect(b.wsUrl, {}, 'polite');
    const stubborn = await rawUpgrade(b.port, `/ws/${b.ep.id}?token=${encodeURIComponent(b.ep.token)}`);
    try {
      const sent = Date.now();
      b.proc.child.kill('SIGTERM');
      expect((await polite.waitClosed(10000)).code).toBe(1001);
      const exit = await within(b.proc.exited, 10000, 'relay did not exit');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - sent).toBeLessThan(10000);
      // The relay had to terminate the stubborn socket; its disconnect is a pending stats write too.
      expect(statsRow(b)).toEqual({ currentConnections: 0, totalConnections: 2, totalMessages: 0 });
    } finally {
      stubborn.destroy();
    }
  });
});

/** The same shutdown path in-process (relay.stop), on every database: the DB must hold the final counts. */
eachDb('relay.stop()', (db) => {
  it('closes clients with 1001 and writes every pending stats update before disconnecting the DB', async () => {
    requireDb(db);
    const url = db.url();
    const t = await startTestRelay(url);
    const ep = await t.createEndpoint('stop');
    const clients: Client[] = [];
    let stopped = false;
    try {
      for (let i = 0; i < 4; i++) clients.push(await connect(t.wsUrl(ep.id, ep.token), {}, `c${i}`));
      await Promise.all(clients.map((c, i) => c.send(`hello-${i}`)));
      await Promise.all(clients.map((c) => c.waitForCount(3)));
      await t.relay.stop();
      stopped = true;
      const closes = await Promise.all(clients.map((c) => c.waitClosed(5000)));
      expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001, 1001]);
    } finally {
      if (!stopped) await t.relay.stop();
    }
    const check = createDb({ url, poolSize: 1 });
    try {
      const row = await check.prisma.endpointStats.findUnique({ where: { endpointId: ep.id } });
      expect(row).toMatchObject({ currentConnections: 0, totalConnections: 4, totalMessages: 4 });
    } finally {
      await check.prisma.endpoint.deleteMany({ where: { id: ep.id } });
      await check.prisma.$disconnect();
    }
  });
});
