/**
 * Micro-benchmark of the broadcast loop: server CPU per delivery, ws.send per recipient (the
 * loop before Story 9.3) against ConnectionManager.broadcast ("relay": frame built once,
 * writes coalesced per recipient per event-loop turn). The recipients live in a child
 * process so only the sending side's CPU is measured.
 *
 *   npx tsx scripts/broadcast-bench.ts [recipients=50] [frames=20000] [bytes=64] [rounds=3] [burst=50]
 *
 * burst: broadcasts per event-loop turn (1 = a lightly loaded relay, each turn one frame; the
 * write coalescing only pays when a turn carries several frames per recipient).
 * Prints one line per round and mode (modes interleaved so a busy machine hurts both alike):
 * CPU microseconds per delivery (user+system of this process, sending side only).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { ConnectionManager } from '../backend/src/websocket/connection-manager';
import { positionalNumbers, scriptArgs } from './script-args';

const [recipients, frames, bytes, rounds, burst] = scriptArgs(
  __filename,
  { allowPositionals: true, options: {} },
  ({ positionals }) =>
    positionalNumbers(positionals, [
      { name: 'recipients', fallback: 50 },
      { name: 'frames', fallback: 20_000 },
      { name: 'bytes', fallback: 64, min: 0 },
      { name: 'rounds', fallback: 3 },
      { name: 'burst', fallback: 50 },
    ]),
);
/** Frames sent per macrotask; the pause lets the kernel drain sockets as a live relay would. */
const BURST = burst;

async function clients(): Promise<void> {
  const url = process.env.BENCH_URL!;
  let received = 0;
  let target = Number.POSITIVE_INFINITY;
  const sockets = await Promise.all(
    Array.from(
      { length: recipients },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.on('message', () => {
            if (++received === target) process.send!({ done: true });
          });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  process.on('message', (m: { expect?: number; exit?: boolean }) => {
    if (m.exit) {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
    if (m.expect !== undefined) {
      received = 0;
      target = m.expect;
      process.send!({ ready: true });
    }
  });
  process.send!({ connected: true });
}

async function server(): Promise<void> {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  const manager = new ConnectionManager();
  wss.on('connection', (ws) => manager.add('bench', ws));
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const child = fork(__filename, process.argv.slice(2), {
    env: { ...process.env, BENCH_ROLE: 'clients', BENCH_URL: url },
    execArgv: process.execArgv,
  });
  const next = (key: string) =>
    new Promise<void>((resolve) => {
      const on = (m: Record<string, unknown>) => {
        if (m[key]) {
          child.off('message', on);
          resolve();
        }
      };
      child.on('message', on);
    });
  await next('connected');
  const pool = [...manager.sockets()];
  const payload = Buffer.alloc(bytes, 0x61);

  // The loop as it was before frame-once: ws.send per recipient (same cap check).
  const perRecipientSend = () => {
    for (const ws of pool) {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(payload, { binary: false });
        if (ws.bufferedAmount > Number.POSITIVE_INFINITY) throw new Error('unreachable');
      }
    }
  };
  const frameOnce = () => manager.broadcast('bench', null, payload, false);

  const run = async (send: () => void) => {
    const ready = next('ready');
    child.send({ expect: frames * recipients });
    await ready;
    const done = next('done');
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let sent = 0; sent < frames;) {
      for (let i = 0; i < BURST && sent < frames; i++, sent++) send();
      await new Promise((r) => setImmediate(r));
    }
    await done;
    const used = process.cpuUsage(cpu);
    return {
      usPerDelivery: (used.user + used.system) / (frames * recipients),
      wallMs: performance.now() - started,
    };
  };

  console.log(`recipients=${recipients} frames=${frames} bytes=${bytes} burst=${BURST}`);
  await run(frameOnce); // warm-up, not reported
  for (let round = 1; round <= rounds; round++) {
    for (const [name, send] of [
      ['ws.send', perRecipientSend],
      ['relay', frameOnce],
    ] as const) {
      const r = await run(send);
      console.log(
        `round ${round} ${name.padEnd(8)} ${r.usPerDelivery.toFixed(3)} us CPU/delivery, wall ${r.wallMs.toFixed(0)} ms`,
      );
    }
  }
  child.send({ exit: true });
  for (const ws of pool) ws.terminate();
  wss.close();
  httpServer.close();
}

void (process.env.BENCH_ROLE === 'clients' ? clients() : server());
