import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { tempSqliteUrl } from './helpers/databases';
import { freePort, spawnRelay, waitHealthy, type RelayProcess } from './helpers/process';
import { connect, type Client } from './helpers/ws';

/** SIGTERM/SIGINT on the real entry point: sockets get 1001, stats writes finish, exit 0 in 10 s. */
describe.each(['SIGTERM', 'SIGINT'] as const)('graceful shutdown on %s', (signal) => {
  let proc: RelayProcess | undefined;
  afterEach(() => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  });

  it('closes clients with 1001, finishes pending stats writes and exits 0 within 10 s', async () => {
    const port = await freePort();
    const apiKey = `shutdown-key-${randomBytes(12).toString('hex')}`;
    const dbUrl = tempSqliteUrl('shutdown');
    proc = spawnRelay({
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
    const url = `ws://127.0.0.1:${port}/ws/${ep.id}?token=${encodeURIComponent(ep.token)}`;
    const clients: Client[] = [await connect(url, {}, 'a'), await connect(url, {}, 'b')];
    await clients[0].send('before-shutdown');
    await clients[1].waitForCount(1);

    const sent = Date.now();
    proc.child.kill(signal);
    const closes = await Promise.all(clients.map((c) => c.waitClosed(10000)));
    for (const c of closes) expect(c.code).toBe(1001);
    const exit = await Promise.race([
      proc.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('relay did not exit within 10 s')), 10000),
      ),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(10000);

    // Nothing listens any more.
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();

    // The disconnect writes started by the shutdown were finished before the DB was closed.
    const db = new Database(dbUrl.replace(/^file:/, ''), { readonly: true });
    try {
      const row = db
        .prepare(
          'SELECT currentConnections, totalConnections, totalMessages FROM EndpointStats WHERE endpointId = ?',
        )
        .get(ep.id);
      expect(row).toEqual({ currentConnections: 0, totalConnections: 2, totalMessages: 1 });
    } finally {
      db.close();
    }

    // No secrets in the logs, even at debug level.
    const logs = proc.stdout() + proc.stderr();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(apiKey);
    expect(logs).not.toContain(ep.token);
  });
});
