import { randomBytes } from 'node:crypto';
import { createDb } from '../src/db/client';
import { spawnBuiltRelay } from './helpers/built-relay';
import { eachDb, requireDb, type DbTarget } from './helpers/databases';
import { dbOutage, metricValue, type DbOutage } from './helpers/db-outage';
import { freePort, waitHealthy, within, type RelayProcess } from './helpers/process';
import { startTestRelay, type TestRelay } from './helpers/relay';
import { closeAll, connect, eventually, type Client } from './helpers/ws';

const frame = (i: number) => JSON.stringify({ type: 'device_data', deviceId: 'dev', data: { i } });

/** Reads what reached the database, through a connection of the test's own. */
async function persisted(url: string, endpointId: string) {
  const check = createDb({ url, poolSize: 1 });
  try {
    const stats = await check.prisma.endpointStats.findUnique({ where: { endpointId } });
    const rows = await check.prisma.deviceData.findMany({
      where: { endpointId },
      orderBy: { id: 'asc' },
      select: { payload: true },
    });
    return {
      stats: stats && {
        current: stats.currentConnections,
        total: stats.totalConnections,
        messages: stats.totalMessages,
      },
      readings: rows.map((r) => (r.payload as { i: number }).i),
    };
  } finally {
    await check.prisma.$disconnect();
  }
}

async function removeEndpoint(url: string, endpointId: string): Promise<void> {
  const check = createDb({ url, poolSize: 1 });
  try {
    await check.prisma.endpoint.deleteMany({ where: { id: endpointId } });
  } finally {
    await check.prisma.$disconnect();
  }
}

/**
 * relay.stop() while the database refuses every write. Stats and device data are batched
 * with an hour-long timer, so only the shutdown drain can write them.
 */
eachDb('relay.stop() with the database down', (db: DbTarget) => {
  let outage: DbOutage | undefined;
  let t: TestRelay | undefined;
  let stopped = false;
  const clients: Client[] = [];

  async function start(timeoutMs: number) {
    requireDb(db);
    outage = await dbOutage(db);
    t = await startTestRelay(outage.url, {
      STATS_MODE: 'batched',
      STATS_FLUSH_INTERVAL_MS: '3600000',
      SHUTDOWN_TIMEOUT_MS: String(timeoutMs),
      ...outage.env,
    });
    stopped = false;
    const ep = await t.createEndpoint('stop-db-down');
    const a = await connect(t.wsUrl(ep.id, ep.token), {}, 'a');
    const b = await connect(t.wsUrl(ep.id, ep.token), {}, 'b');
    clients.push(a, b);
    for (let i = 0; i < 6; i++) await a.send(frame(i));
    await b.waitForCount(6);
    expect(t.relay.unwritten()).toEqual({ statsEndpoints: 1, deviceReadings: 6 });
    return { relay: t, ep, url: outage.url };
  }

  afterEach(async () => {
    await closeAll(clients.splice(0));
    await outage?.end();
    if (t && !stopped) await t.relay.stop();
    if (t) for (const id of t.created) await removeEndpoint(t.dbUrl, id);
    await outage?.close();
    outage = undefined;
    t = undefined;
  });

  it('database back before SHUTDOWN_TIMEOUT_MS: every pending stat and reading is written', async () => {
    const { relay, ep, url } = await start(30_000);
    await outage!.begin();
    const stopping = relay.relay.stop();
    stopped = true;
    // Both drains have been refused at least once before the database returns.
    await eventually(
      () => relay.relay.metrics.render(),
      (text) =>
        metricValue(text, 'relay_flush_rows_total{kind="stats",outcome="failed"}') > 0 &&
        metricValue(text, 'relay_flush_rows_total{kind="device_data",outcome="failed"}') > 0,
      { what: 'failed shutdown flushes of stats and device data', timeoutMs: 20_000, intervalMs: 50 },
    );
    await outage!.end();
    expect(await within(stopping, 30_000, 'relay.stop() did not return')).toEqual({
      statsEndpoints: 0,
      deviceReadings: 0,
    });
    expect(await persisted(url, ep.id)).toEqual({
      stats: { current: 0, total: 2, messages: 6 },
      readings: [0, 1, 2, 3, 4, 5],
    });
  });

  it('database never back: relay.stop() returns after SHUTDOWN_TIMEOUT_MS and reports what it could not write', async () => {
    const timeoutMs = 2000;
    const { relay, ep, url } = await start(timeoutMs);
    await outage!.begin();
    // Liveness only: it must come back, not hang on a database that never answers.
    const report = await within(relay.relay.stop(), timeoutMs + 5000, 'relay.stop() hung');
    stopped = true;
    expect(report).toEqual({ statsEndpoints: 1, deviceReadings: 6 });
    await outage!.end();
    // Nothing was half-written either.
    expect(await persisted(url, ep.id)).toEqual({
      stats: { current: 0, total: 0, messages: 0 },
      readings: [],
    });
  });
});

/** The built entry point (what PM2 runs): SIGTERM with the database gone for good. */
eachDb('dist main.js, SIGTERM with the database down', (db: DbTarget) => {
  let proc: RelayProcess | undefined;
  let outage: DbOutage | undefined;
  let endpointId: string | undefined;
  afterEach(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await outage?.end();
    if (outage && endpointId) await removeEndpoint(outage.url, endpointId);
    await outage?.close();
    proc = outage = endpointId = undefined;
  });

  /**
   * `slowBusy`: on SQLite, a busy timeout (4 s) longer than the shutdown timeout, so the writer
   * thread is still retrying the locked file when the deadline's process.exit(1) stops it.
   * process.exit terminates worker threads; one terminated inside better-sqlite3's native call
   * aborts the whole process (SIGABRT, "v8::ToLocalChecked Empty MaybeLocal") when the call fails,
   * instead of exiting 1. With SQLite's own busy wait this happened every time with 4 s; with the
   * wait moved to JavaScript it still happened now and then (CI, 2026-12-02), when the exit came
   * during an attempt; the exit gate (exit-gate.ts, exit-gate.test.ts) closes that window.
   */
  const cases: [string, boolean][] = [['the outage settings', false]];
  if (db.name === 'sqlite') cases.push(['a busy timeout longer than the shutdown timeout', true]);
  it.each(cases)(
    'exits 1 once SHUTDOWN_TIMEOUT_MS has passed, logging what was not written (%s)',
    async (_label, slowBusy) => {
      requireDb(db);
      outage = await dbOutage(db);
      const timeoutMs = 2000;
      const port = await freePort();
      const apiKey = `shutdown-key-${randomBytes(12).toString('hex')}`;
      proc = spawnBuiltRelay({
        PORT: String(port),
        HOST: '127.0.0.1',
        API_KEY: apiKey,
        DATABASE_URL: outage.url,
        STATS_MODE: 'batched',
        STATS_FLUSH_INTERVAL_MS: '3600000',
        SHUTDOWN_TIMEOUT_MS: String(timeoutMs),
        LOG_LEVEL: 'info',
        ...outage.env,
        ...(slowBusy ? { SQLITE_BUSY_TIMEOUT_MS: '4000' } : {}),
      });
      await waitHealthy(port, proc);
      const created = await fetch(`http://127.0.0.1:${port}/api/endpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `sigterm-db-down-${randomBytes(3).toString('hex')}` }),
      });
      expect(created.status).toBe(201);
      const ep = (await created.json()) as { id: string; token: string };
      endpointId = ep.id;
      const wsUrl = `ws://127.0.0.1:${port}/ws/${ep.id}?token=${encodeURIComponent(ep.token)}`;
      const a = await connect(wsUrl, {}, 'a');
      const b = await connect(wsUrl, {}, 'b');
      for (let i = 0; i < 5; i++) await a.send(frame(i));
      await b.waitForCount(5);

      await outage.begin();
      const sent = Date.now();
      proc.child.kill('SIGTERM');
      expect((await a.waitClosed(10_000)).code).toBe(1001);
      await b.waitClosed(10_000);
      const exit = await within(proc.exited, timeoutMs + 10_000, 'relay did not exit');
      expect(exit).toEqual({ code: 1, signal: null });
      // It kept trying until the deadline instead of giving up at the first refusal.
      expect(Date.now() - sent).toBeGreaterThanOrEqual(timeoutMs);
      // JSON log lines; key order is the logger's business.
      const unwritten = proc
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"unwritten"'))
        .map((l) => (JSON.parse(l) as { unwritten: unknown }).unwritten);
      expect(unwritten).toContainEqual({ statsEndpoints: 1, deviceReadings: 5 });
      expect(proc.stdout()).not.toMatch(/"message":"stopped"/);
    },
  );
});
