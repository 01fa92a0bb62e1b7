import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Bus } from '../bus/bus';
import { logger } from '../logger';
import type { DisconnectReason, RelayCounters } from '../monitoring/metrics';
import type { EndpointService } from '../services/endpoint.service';
import type { StatsStore } from '../services/stats/stats-store';
import { bearerToken } from '../util/token';
import type { ConnectionManager } from './connection-manager';
import { CLOSE_ENDPOINT_DELETED, CLOSE_GOING_AWAY } from './close-codes';
import { Heartbeat } from './heartbeat';
import type { MessageRouter } from './message-router';

export interface WsServerDeps {
  server: Server;
  connections: ConnectionManager;
  /** Subscribes this process to an endpoint's frames from other processes while it has sockets of it. */
  bus: Bus;
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

/**
 * Refuses an upgrade with a plain HTTP response; the client never gets a WebSocket. On a socket
 * the client has already reset, end() writes nothing and its error goes to the upgrade's
 * listener (still attached whenever this runs), so no check for a dead socket is needed.
 */
function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  return bearerToken(req.headers.authorization);
}

export class RelayWsServer {
  readonly wss: WebSocketServer;
  readonly heartbeat: Heartbeat;
  /**
   * Why the relay is ending a socket, set before it closes it; the first cause wins. Read by the
   * socket's 'close' handler, which counts it once (no entry: the client left).
   */
  private readonly leaving = new WeakMap<WebSocket, DisconnectReason>();
  private draining = false;

  constructor(private readonly deps: WsServerDeps) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayload, perMessageDeflate: false });
    this.heartbeat = new Heartbeat(deps.heartbeatIntervalMs, deps.counters, deps.heartbeatSlots, (ws) =>
      this.markLeaving(ws, 'heartbeat'),
    );
    // The manager already forgot the socket, so its later 'close' records nothing: counted here once.
    deps.connections.onDrop((endpointId, reason) => {
      deps.counters.disconnects[reason]++;
      void deps.stats.recordDisconnect(endpointId);
    });
    deps.connections.onLeave((endpointId) => deps.bus.leave(endpointId));
    // Names the process that accepted the socket (PM2 cluster workers share one port).
    const node = `X-Relay-Node: ${deps.bus.nodeId}`;
    this.wss.on('headers', (headers) => headers.push(node));
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
    if (this.draining) return deny(503, 'server shutting down');
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
    // Subscribed before the client sees the socket open: any frame sent after that, on any
    // process, reaches it. Every join is matched by one leave: the pool's, or this one when the
    // handshake dies before the socket joins a pool.
    await this.deps.bus.join(endpointId);
    if (socket.destroyed) {
      this.deps.bus.leave(endpointId);
      return;
    }
    let pooled = false;
    socket.once('close', () => {
      if (!pooled) this.deps.bus.leave(endpointId);
    });
    socket.off('error', onError);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      pooled = true;
      this.accept(endpointId, ws);
    });
  }

  private accept(endpointId: string, ws: WebSocket): void {
    const { connections, router, stats, counters } = this.deps;
    // Authorised just before the drain began: closeAll has taken its list already.
    if (this.draining) {
      counters.connectionsRefused++;
      ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      return;
    }
    if (!connections.add(endpointId, ws)) {
      this.deps.bus.leave(endpointId);
      ws.close(CLOSE_ENDPOINT_DELETED, 'endpoint deleted');
      return;
    }
    this.deps.counters.connectionsOpened++;
    this.heartbeat.watch(ws);
    ws.on('message', (data: Buffer, isBinary) => router.route(endpointId, ws, data, isBinary));
    ws.on('error', (err) => {
      // ws emits 'error' on a server socket only for a frame it refuses, then closes it.
      this.markLeaving(ws, 'protocol_error');
      logger.debug('socket error', { endpointId, error: err.message });
    });
    ws.on('close', () => {
      // A socket already removed (endpoint deleted, slow consumer) was counted when it was removed.
      if (connections.remove(endpointId, ws)) {
        counters.disconnects[this.leaving.get(ws) ?? 'client_close']++;
        void stats.recordDisconnect(endpointId);
      }
    });
    void stats.recordConnect(endpointId);
  }

  private markLeaving(ws: WebSocket, reason: DisconnectReason): void {
    if (!this.leaving.has(ws)) this.leaving.set(ws, reason);
  }

  /**
   * Refuses new upgrades (503), closes every socket with `code` (each counted as
   * `server_shutdown`) and resolves once all have closed (or `timeoutMs` passes).
   */
  async closeAll(code: number, reason: string, timeoutMs: number): Promise<void> {
    this.draining = true;
    this.heartbeat.stop();
    const closing = [...this.deps.connections.sockets()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          this.markLeaving(ws, 'server_shutdown');
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
