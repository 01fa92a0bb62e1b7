/**
 * Does storing device data slow forwarding for everyone else? A relay child process (STATS_MODE
 * batched) with two endpoints: A gets RATE_A frames/s (device_data readings, or in `plain` mode
 * frames of the same size that are not device data: the control), B gets RATE_B small frames/s
 * sent by one client and received by another. Prints B's send-to-receive latency (hdr
 * histogram, microsecond resolution) after a 3 s warm-up, the relay's own event-loop delay,
 * A's frames/rows counted and the load average, as one JSON line.
 *
 *   npx tsx scripts/device-data-interference.ts <device|plain> [seconds=20] [rateA=1000] [rateB=200]
 * DATABASE_URL picks the database (default: a fresh SQLite file); RELAY_ROOT runs the relay from
 * another checkout (for before/after runs); other relay settings come from the environment.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { positionalNumbers, scriptArgs } from './script-args';

function noMode(got: string | undefined): never {
  throw new Error(
    `the first argument must be device or plain, got ${got === undefined ? 'none' : `"${got}"`}`,
  );
}

const { mode, numbers } = scriptArgs(
  __filename,
  { allowPositionals: true, options: {} },
  ({ positionals: [first, ...rest] }) => ({
    // Required: the control run and the measured one must each be asked for by name.
    mode: first === 'device' || first === 'plain' ? first : noMode(first),
    numbers: positionalNumbers(rest, [
      { name: 'seconds', fallback: 20, real: true },
      { name: 'rateA', fallback: 1000, real: true },
      { name: 'rateB', fallback: 200, real: true },
    ]),
  }),
);
const [seconds, rateA, rateB] = numbers;
const root = path.resolve(process.env.RELAY_ROOT ?? path.join(__dirname, '..'));
const apiKey = 'measure-key-0123456789abcdef';
const WARMUP_MS = 3000;
const TICK_MS = 10;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open = (ws: WebSocket) => new Promise((r, j) => ws.once('open', r).once('error', j));

async function main(): Promise<void> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dd-interference-'));
  const databaseUrl = process.env.DATABASE_URL ?? `file:${path.join(dir, 'relay.db')}`;
  const relay = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'backend/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      API_KEY: apiKey,
      METRICS_PUBLIC: '1',
      STATS_MODE: 'batched',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const created: string[] = [];
  const api = (method: string, p: string, body?: unknown) =>
    fetch(`${base}${p}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  try {
    for (let i = 0; ; i++) {
      if (
        await fetch(`${base}/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 300) throw new Error('relay not healthy');
      await sleep(100);
    }
    const endpoint = async (name: string) => {
      const ep = (await (await api('POST', '/api/endpoints', { name: `${name}-${Date.now()}` })).json()) as {
        id: string;
        token: string;
      };
      created.push(ep.id);
      return `ws://127.0.0.1:${port}/ws/${ep.id}?token=${ep.token}`;
    };
    const urlA = await endpoint('interference-a');
    const urlB = await endpoint('interference-b');
    const [aSend, aRecv, bSend, bRecv] = [urlA, urlA, urlB, urlB].map((u) => new WebSocket(u));
    await Promise.all([aSend, aRecv, bSend, bRecv].map(open));
    let aReceived = 0;
    aRecv.on('message', () => aReceived++);

    const latency = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 60_000_000,
      numberOfSignificantValueDigits: 3,
    });
    const started = performance.now();
    bRecv.on('message', (data: Buffer) => {
      const sent = Number(data.toString().slice(5));
      if (sent - started >= WARMUP_MS)
        latency.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)));
    });

    // A reading like a sensor's; the control carries the same bytes without the device marker.
    let seq = 0;
    const frameA = () => {
      const body = `"deviceId":"sensor-${seq % 20}","data":{"temperature":21.5,"humidity":48.2,"seq":${seq++}}}`;
      return mode === 'device' ? `{"type":"device_data",${body}` : `{"type":"telemetry__",${body}`;
    };
    let aSent = 0;
    let bSent = 0;
    const tick = setInterval(() => {
      const elapsed = performance.now() - started;
      for (; aSent < (elapsed * rateA) / 1000; aSent++) aSend.send(frameA());
      for (; bSent < (elapsed * rateB) / 1000; bSent++) bSend.send(`ping:${performance.now()}`);
    }, TICK_MS);
    // prom-client resets its event-loop histogram on each scrape: this one drops the start-up.
    await sleep(WARMUP_MS);
    await fetch(`${base}/metrics`).then((r) => r.text());
    await sleep(Math.max(0, seconds * 1000 - WARMUP_MS));
    clearInterval(tick);
    await sleep(1500);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? NaN);
    const ms = (p: number) => latency.getValueAtPercentile(p) / 1000;
    console.log(
      JSON.stringify({
        mode,
        db: databaseUrl.startsWith('mysql') ? 'mysql' : 'sqlite',
        root,
        seconds,
        rateA,
        rateB,
        aSent,
        aReceived,
        deviceRowsWritten: sample('relay_flush_rows_total\\{kind="device_data",outcome="ok"\\}'),
        bSamples: latency.totalCount,
        bP50ms: ms(50),
        bP95ms: ms(95),
        bP99ms: ms(99),
        bMaxms: latency.maxValue / 1000,
        // The relay's own event-loop delay after the warm-up: what a blocking insert costs every
        // socket, the load generator's own delays aside.
        relayLoopP99ms: sample('nodejs_eventloop_lag_p99_seconds') * 1000,
        relayLoopMaxms: sample('nodejs_eventloop_lag_max_seconds') * 1000,
        loadavg: os.loadavg().map((l) => Number(l.toFixed(2))),
      }),
    );
    for (const ws of [aSend, aRecv, bSend, bRecv]) ws.close();
    for (const id of created) await api('DELETE', `/api/endpoints/${id}`);
  } finally {
    relay.kill('SIGTERM');
    await new Promise((r) => relay.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
