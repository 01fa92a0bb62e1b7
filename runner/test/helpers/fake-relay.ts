/**
 * A throwaway relay that honours the REST + WebSocket contract, for unit tests of
 * the processor and runner plumbing. It is deliberately not the product: the
 * end-to-end smoke test runs against the real backend.
 *
 * Device readings (`{"type":"device_data",...}`) are forwarded, "stored" (counted per
 * endpoint and device) and checked against the endpoint's `>`/`<` rules, which broadcast an
 * alert frame each, as the real relay does.
 *
 * It can misbehave on purpose (drop, duplicate, echo frames; refuse or lose readings) and counts what it
 * did itself, so a test compares the processor's ledger with an independent count
 * instead of with a figure derived from the ledger.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

/** Deliberate faults; 0 turns one off. Counted per relay, over its whole life. */
export interface FakeRelayFaults {
  /** Drop every n-th offered delivery (relay-wide count of (frame, open peer) pairs). */
  dropEvery: number;
  /** Send the n-th frame received from each socket twice to every peer. */
  duplicateNth: number;
  /** Echo the n-th frame received from each socket back to its own sender. */
  echoNth: number;
  /** Refuse every n-th reading (relay-wide): not stored, an error frame to its sender. */
  refuseReadingEvery: number;
  /** Lose every n-th reading not refused (relay-wide): not stored, nobody told. */
  loseReadingEvery: number;
  /**
   * History replay: on a socket's first frame, send it the last n frames its endpoint received
   * before it connected. They were sent before its client could count (it sends only after
   * joining its ledger, and they arrive after that), so a generator must book them as not
   * owed and as sent outside the receiver's counting interval.
   */
  replayToNewcomer: number;
}

/** What the relay did, counted at the relay. */
export interface FakeRelayCounts {
  /** WebSocket connections accepted. */
  connections: number;
  /** Frames received from clients. */
  received: number;
  /** Deliveries offered: one per (frame, other peer open on its endpoint). */
  offered: number;
  /** Offered deliveries written to the peer (each counted once, copies not included). */
  written: number;
  /** Offered deliveries not written (dropEvery). */
  dropped: number;
  /** Extra copies written (duplicateNth). */
  duplicated: number;
  /** Frames written back to their own sender (echoNth). */
  echoed: number;
  /** Old frames written to a newcomer (replayToNewcomer); not offered, not written. */
  replayed: number;
  /** Device readings received, refused with an error frame, lost in silence, stored. */
  readings: number;
  refused: number;
  lost: number;
  stored: number;
  /** Alerts fired (stored), and alert frames written (one per open socket of the endpoint). */
  alerts: number;
  alertFrames: number;
}

interface Rule {
  field: string;
  operator: string;
  threshold: number;
}

export interface FakeRelay {
  url: string;
  faults: FakeRelayFaults;
  readonly counts: FakeRelayCounts;
  close(): Promise<void>;
}

export async function startFakeRelay(
  apiKey?: string,
  faults: Partial<FakeRelayFaults> = {},
): Promise<FakeRelay> {
  const endpoints = new Map<
    string,
    {
      token: string;
      sockets: Set<WebSocket>;
      /** The endpoint's last frames (replayToNewcomer of them), oldest first. */
      history: Array<{ data: RawData; isBinary: boolean }>;
      rules: Rule[];
      devices: Map<string, { readings: number; alerts: number }>;
    }
  >();
  const counts: FakeRelayCounts = {
    connections: 0,
    received: 0,
    offered: 0,
    written: 0,
    dropped: 0,
    duplicated: 0,
    echoed: 0,
    replayed: 0,
    readings: 0,
    refused: 0,
    lost: 0,
    stored: 0,
    alerts: 0,
    alertFrames: 0,
  };
  const relay: FakeRelay = {
    url: '',
    faults: {
      dropEvery: 0,
      duplicateNth: 0,
      echoNth: 0,
      refuseReadingEvery: 0,
      loseReadingEvery: 0,
      replayToNewcomer: 0,
      ...faults,
    },
    counts,
    close: async () => undefined,
  };

  const server = http.createServer((req, res) => {
    const send = (code: number, body?: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.url === '/health') return send(200, { status: 'ok', db: 'up' });
    if (apiKey && req.headers.authorization !== `Bearer ${apiKey}`)
      return send(401, { error: 'unauthorized' });
    if (req.method === 'POST' && req.url === '/api/endpoints') {
      const id = randomUUID();
      endpoints.set(id, {
        token: randomUUID(),
        sockets: new Set(),
        history: [],
        rules: [],
        devices: new Map(),
      });
      return send(201, {
        id,
        name: 'x',
        token: endpoints.get(id)?.token,
        wsUrl: `/ws/${id}`,
        createdAt: new Date(),
      });
    }
    const del = /^\/api\/endpoints\/([^/]+)$/.exec(req.url ?? '');
    if (req.method === 'DELETE' && del) return send(endpoints.delete(del[1]) ? 204 : 404);
    const rules = /^\/api\/endpoints\/([^/]+)\/alert-rules$/.exec(req.url ?? '');
    if (req.method === 'POST' && rules) {
      const ep = endpoints.get(rules[1]);
      if (!ep) return send(404, { error: 'endpoint not found' });
      let body = '';
      req.on('data', (b: Buffer) => (body += b.toString()));
      req.on('end', () => {
        const rule = JSON.parse(body) as Rule;
        ep.rules.push(rule);
        send(201, { id: ep.rules.length, ...rule });
      });
      return;
    }
    if (req.method === 'GET' && req.url === '/metrics') {
      // What the connection scenarios' end-of-run check reads (METRICS_PER_ENDPOINT=1's series).
      res.writeHead(200, { 'content-type': 'text/plain' });
      const lines = [...endpoints].map(
        ([id, ep]) => `relay_connections{endpoint="${id}"} ${ep.sockets.size}`,
      );
      res.end([...lines, `process_resident_memory_bytes ${process.memoryUsage().rss}`, ''].join('\n'));
      return;
    }
    const epStats = /^\/api\/endpoints\/([^/]+)\/stats$/.exec(req.url ?? '');
    if (req.method === 'GET' && epStats) {
      const ep = endpoints.get(epStats[1]);
      if (!ep) return send(404, { error: 'endpoint not found' });
      return send(200, { currentConnections: ep.sockets.size });
    }
    const stats = /^\/api\/endpoints\/([^/]+)\/devices\/([^/]+)\/stats$/.exec(req.url ?? '');
    if (req.method === 'GET' && stats) {
      const ep = endpoints.get(stats[1]);
      if (!ep) return send(404, { error: 'endpoint not found' });
      const deviceId = decodeURIComponent(stats[2]);
      return send(200, { deviceId, ...(ep.devices.get(deviceId) ?? { readings: 0, alerts: 0 }) });
    }
    send(404, { error: 'not found' });
  });

  type Endpoint = typeof endpoints extends Map<string, infer E> ? E : never;
  /** After forwarding, as the real relay: store (or refuse, or lose), then evaluate the rules. */
  const storeReading = (ep: Endpoint, sender: WebSocket, text: string) => {
    const { deviceId, data } = JSON.parse(text) as { deviceId: string; data: { value: number } };
    counts.readings++;
    const { refuseReadingEvery, loseReadingEvery } = relay.faults;
    if (refuseReadingEvery > 0 && counts.readings % refuseReadingEvery === 0) {
      counts.refused++;
      sender.send(JSON.stringify({ type: 'error', message: 'device data could not be stored; retry later' }));
      return;
    }
    if (loseReadingEvery > 0 && (counts.readings - counts.refused) % loseReadingEvery === 0) {
      counts.lost++;
      return;
    }
    const device = ep.devices.get(deviceId) ?? { readings: 0, alerts: 0 };
    ep.devices.set(deviceId, device);
    device.readings++;
    counts.stored++;
    for (const rule of ep.rules) {
      const fired = rule.operator === '>' ? data.value > rule.threshold : data.value < rule.threshold;
      if (!fired) continue;
      device.alerts++;
      counts.alerts++;
      const alert = JSON.stringify({ type: 'alert', deviceId, value: data.value, ...rule });
      for (const s of ep.sockets) {
        if (s.readyState !== s.OPEN) continue;
        s.send(alert);
        counts.alertFrames++;
      }
    }
  };

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '', 'http://x');
    const id = /^\/ws\/([^/]+)$/.exec(url.pathname)?.[1];
    const ep = id ? endpoints.get(id) : undefined;
    if (!ep || url.searchParams.get('token') !== ep.token) {
      socket.end(`HTTP/1.1 ${ep ? 401 : 404} x\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ep.sockets.add(ws);
      counts.connections++;
      let fromThisSocket = 0;
      const before = [...ep.history];
      ws.on('close', () => ep.sockets.delete(ws));
      ws.on('message', (data, isBinary) => {
        counts.received++;
        fromThisSocket++;
        const { dropEvery, duplicateNth, echoNth, replayToNewcomer } = relay.faults;
        if (fromThisSocket === 1)
          for (const old of before) {
            ws.send(old.data, { binary: old.isBinary });
            counts.replayed++;
          }
        if (replayToNewcomer > 0) {
          ep.history.push({ data, isBinary });
          if (ep.history.length > replayToNewcomer) ep.history.shift();
        }
        const copies = duplicateNth > 0 && fromThisSocket === duplicateNth ? 2 : 1;
        if (echoNth > 0 && fromThisSocket === echoNth) {
          ws.send(data, { binary: isBinary });
          counts.echoed++;
        }
        for (const peer of ep.sockets) {
          if (peer === ws || peer.readyState !== peer.OPEN) continue;
          counts.offered++;
          if (dropEvery > 0 && counts.offered % dropEvery === 0) {
            counts.dropped++;
            continue;
          }
          for (let i = 0; i < copies; i++) peer.send(data, { binary: isBinary });
          counts.written++;
          counts.duplicated += copies - 1;
        }
        if (!isBinary && data.toString().startsWith('{"type":"device_data"'))
          storeReading(ep, ws, data.toString());
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  relay.url = `ws://127.0.0.1:${port}`;
  relay.close = async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return relay;
}
