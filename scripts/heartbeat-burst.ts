/**
 * Event-loop delay caused by the heartbeat at many sockets: the same sockets under one tick
 * for all (HEARTBEAT_SLOTS=1) and spread over slots. Clients live in a child process (each
 * process needs one fd per socket), so the server's loop is measured alone.
 *
 *   npx tsx scripts/heartbeat-burst.ts [sockets=9000] [intervalMs=3000] [slots=30] [rounds=2]
 *
 * Prints, per mode and round, perf_hooks.monitorEventLoopDelay over three intervals: max and
 * p99 (ms), and the longest single heartbeat tick (ms, timed around the pings).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { RelayCounters } from '../backend/src/monitoring/metrics';
import { Heartbeat } from '../backend/src/websocket/heartbeat';
import { positionalNumbers, scriptArgs } from './script-args';

const [sockets, intervalMs, slots, rounds] = scriptArgs(
  __filename,
  { allowPositionals: true, options: {} },
  ({ positionals }) =>
    positionalNumbers(positionals, [
      { name: 'sockets', fallback: 9000 },
      { name: 'intervalMs', fallback: 3000 },
      { name: 'slots', fallback: 30 },
      { name: 'rounds', fallback: 2 },
    ]),
);

async function clients(): Promise<void> {
  const url = process.env.BENCH_URL!;
  const open: WebSocket[] = [];
  // In batches: thousands of simultaneous handshakes would overflow the listen backlog.
  for (let i = 0; i < sockets; i += 200) {
    const batch = Math.min(200, sockets - i);
    open.push(
      ...(await Promise.all(
        Array.from(
          { length: batch },
          () =>
            new Promise<WebSocket>((resolve, reject) => {
              const ws = new WebSocket(url, { perMessageDeflate: false });
              ws.once('open', () => resolve(ws));
              ws.once('error', reject);
            }),
        ),
      )),
    );
  }
  process.on('message', () => {
    for (const ws of open) ws.terminate();
    process.exit(0);
  });
  process.send!({ connected: open.length });
}

async function server(): Promise<void> {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  const accepted: WebSocket[] = [];
  wss.on('connection', (ws) => accepted.push(ws));
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', 4096, r));
  const url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const child = fork(__filename, process.argv.slice(2), {
    env: { ...process.env, BENCH_ROLE: 'clients', BENCH_URL: url },
    execArgv: process.execArgv,
  });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  console.log(`sockets=${accepted.length} interval=${intervalMs} ms, spread slots=${slots}`);

  const measure = async (n: number) => {
    const counters = new RelayCounters();
    const hb = new Heartbeat(intervalMs, counters, n);
    // Time each tick from outside: the pings are the heartbeat's whole synchronous work.
    let longestTick = 0;
    const proto = hb as unknown as { tick: () => void };
    const tick = proto.tick.bind(hb);
    proto.tick = () => {
      const t = performance.now();
      tick();
      longestTick = Math.max(longestTick, performance.now() - t);
    };
    for (const ws of accepted) hb.watch(ws);
    const eld = monitorEventLoopDelay({ resolution: 5 });
    hb.start();
    eld.enable();
    await new Promise((r) => setTimeout(r, intervalMs * 3));
    eld.disable();
    hb.stop();
    for (const ws of accepted) ws.removeAllListeners('pong');
    return {
      maxMs: eld.max / 1e6,
      p99Ms: eld.percentile(99) / 1e6,
      longestTick,
      terminated: counters.heartbeatTerminations,
    };
  };

  for (let round = 1; round <= rounds; round++) {
    for (const n of [1, slots]) {
      const r = await measure(n);
      console.log(
        `round ${round} slots=${String(n).padEnd(4)} loop delay max ${r.maxMs.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms; longest tick ${r.longestTick.toFixed(1)} ms; terminated ${r.terminated}`,
      );
    }
  }
  child.send({ exit: true });
  for (const ws of accepted) ws.terminate();
  wss.close();
  httpServer.close();
}

void (process.env.BENCH_ROLE === 'clients' ? clients() : server());
