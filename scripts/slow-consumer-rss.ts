/**
 * Measures the relay's resident memory while one client of an endpoint stops reading and a peer
 * floods it: a relay child process (SQLite in a temp dir), one reading client, one client whose
 * TCP socket is paused, a sender at RATE frames/s of SIZE bytes for SECONDS. Prints the relay's
 * process_resident_memory_bytes (from its own /metrics) each second, the peak, whether the paused
 * client was dropped, and how many frames the reader got.
 *
 *   npx tsx scripts/slow-consumer-rss.ts [seconds=20] [rate=100] [size=65536]
 * Extra relay settings come from the environment (e.g. WS_MAX_BUFFERED_BYTES=1048576).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { positionalNumbers, scriptArgs } from './script-args';

const [seconds, rate, size] = scriptArgs(
  __filename,
  { allowPositionals: true, options: {} },
  ({ positionals }) =>
    positionalNumbers(positionals, [
      { name: 'seconds', fallback: 20, real: true },
      { name: 'rate', fallback: 100, real: true },
      { name: 'size', fallback: 65536 },
    ]),
);
const root = path.resolve(__dirname, '..');
const apiKey = 'measure-key-0123456789abcdef';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slow-consumer-'));
  const relay = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'backend/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `file:${path.join(dir, 'relay.db')}`,
      API_KEY: apiKey,
      METRICS_PUBLIC: '1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 200) throw new Error('relay not healthy');
      await sleep(100);
    }
    const res = await fetch(`${base}/api/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `rss-${Date.now()}` }),
    });
    const ep = (await res.json()) as { id: string; token: string };
    const url = `ws://127.0.0.1:${port}/ws/${ep.id}?token=${ep.token}`;
    const open = (ws: WebSocket) => new Promise((r, j) => ws.once('open', r).once('error', j));
    const reader = new WebSocket(url);
    const slow = new WebSocket(url);
    const sender = new WebSocket(url);
    await Promise.all([open(reader), open(slow), open(sender)]);
    let received = 0;
    reader.on('message', () => received++);
    let slowClosed: number | undefined;
    slow.on('close', (code) => (slowClosed = code));
    slow.on('error', () => undefined);
    (slow as unknown as { _socket: net.Socket })._socket.pause();

    const rss = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(/^process_resident_memory_bytes (\S+)/m.exec(text)?.[1]) / 2 ** 20;
    };
    const payload = Buffer.alloc(size, 7);
    const before = await rss();
    console.log(`rss before: ${before.toFixed(1)} MiB`);
    let sent = 0;
    let peak = before;
    const timer = setInterval(() => {
      for (let i = 0; i < rate / 10; i++, sent++) sender.send(payload);
    }, 100);
    for (let s = 1; s <= seconds; s++) {
      await sleep(1000);
      const now = await rss();
      peak = Math.max(peak, now);
      console.log(
        `t=${s}s sent=${sent} reader=${received} rss=${now.toFixed(1)} MiB slowClosed=${slowClosed ?? '-'}`,
      );
    }
    clearInterval(timer);
    await sleep(1000);
    const text = await (await fetch(`${base}/metrics`)).text();
    const drops = /^relay_disconnects_total\{reason="slow_consumer"\} (\S+)/m.exec(text)?.[1] ?? 'n/a';
    console.log(
      `sent=${sent} reader=${received} rss before=${before.toFixed(1)} peak=${peak.toFixed(1)} MiB ` +
        `slowClosed=${slowClosed ?? 'no'} slow_consumer drops=${drops}`,
    );
    for (const ws of [reader, slow, sender]) ws.terminate();
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
