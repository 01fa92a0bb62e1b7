import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { logger } from '../logger';
import type { RelayCounters } from '../monitoring/metrics';
import type { EndpointService } from '../services/endpoint.service';
import type { StatsStore } from '../services/stats/stats-store';
import type { ConnectionManager } from './connection-manager';
import { CLOSE_ENDPOINT_DELETED } from './close-codes';
import { Heartbeat } from './heartbeat';
import type { MessageRouter } from './message-router';

export interface WsServerDeps {
  server: Server;
  connections: ConnectionManager;
  router: MessageRouter;
  endpoints: EndpointService;
  stats: StatsStore;
  counters: RelayCounters;
  maxPayload: number;
  heartbeatIntervalMs: number;
  /** Groups the heartbeat spreads its pings over (HEARTBEAT_SLOTS); default 1, all at once. */
  heartbeatSlots?: number;
}

const WS_PATH = /^\/ws\/([^/?#]+)\/?$/;

/** Refuses an upgrade with a plain HTTP response; the client never gets a WebSocket. */
function refuse(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

export class RelayWsServer {
  readonly wss: WebSocketServer;
  readonly heartbeat: Heartbeat;

  constructor(private readonly deps: WsServerDeps) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayload, perMessageDeflate: false });
    this.heartbeat = new Heartbeat(deps.heartbeatIntervalMs, deps.counters, deps.heartbeatSlots);
    // The manager already forgot the socket, so its later 'close' records nothing: counted here once.
    deps.connections.onDrop((endpointId, reason) => {
      deps.counters.disconnects[reason]++;
      void deps.stats.recordDisconnect(endpointId);
    });
    deps.server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
    this.heartbeat.start();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Errors on a socket that is still being authenticated must not reach the process.
    const onError = (err: Error) => logger.debug('upgrade socket error', { error: err.message });
    socket.on('error', onError);
    const url = new URL(req.url ?? '/', 'http://relay');
    const match = WS_PATH.exec(url.pathname);
    const deny = (status: number, message: string) => {
      this.deps.counters.connectionsRefused++;
      refuse(socket, status, message);
    };
    if (!match) return deny(404, 'unknown path; connect to /ws/<endpointId>');
    let endpointId: string;
    try {
      endpointId = decodeURIComponent(match[1]);
    } catch {
      return deny(400, 'malformed endpoint id');
    }
    let check;
    try {
      check = await this.deps.endpoints.checkToken(endpointId, tokenOf(req, url));
    } catch (err) {
      logger.error('upgrade refused: database unavailable', { error: (err as Error).message });
      return deny(503, 'database unavailable');
    }
    if (check === 'unknown-endpoint') return deny(404, 'endpoint not found');
    if (check === 'bad-token') return deny(401, 'missing or invalid token');
    socket.off('error', onError);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(endpointId, ws));
  }

  private accept(endpointId: string, ws: WebSocket): void {
    const { connections, router, stats } = this.deps;
    if (!connections.add(endpointId, ws)) {
      ws.close(CLOSE_ENDPOINT_DELETED, 'endpoint deleted');
      return;
    }
    this.deps.counters.connectionsOpened++;
    this.heartbeat.watch(ws);
    ws.on('message', (data: Buffer, isBinary) => router.route(endpointId, ws, data, isBinary));
    ws.on('error', (err) => logger.debug('socket error', { endpointId, error: err.message }));
    ws.on('close', () => {
      // A socket already removed (endpoint deleted) is not counted again.
      if (connections.remove(endpointId, ws)) void stats.recordDisconnect(endpointId);
    });
    void stats.recordConnect(endpointId);
  }

  /** Closes every socket with `code` and resolves once all have closed (or `timeoutMs` passes). */
  async closeAll(code: number, reason: string, timeoutMs: number): Promise<void> {
    this.heartbeat.stop();
    const closing = [...this.deps.connections.sockets()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(code, reason);
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(closing), timeout]);
    clearTimeout(timer);
    // Peers that never answered the close handshake: their 'close' handlers record the
    // disconnect, which must happen before the stats are drained.
    const stuck = [...this.deps.connections.sockets()];
    for (const ws of stuck) ws.terminate();
    await Promise.all(
      stuck.map((ws) => (ws.readyState === ws.CLOSED ? undefined : new Promise((r) => ws.once('close', r)))),
    );
    this.wss.close();
  }
}
