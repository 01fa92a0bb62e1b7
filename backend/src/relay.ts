import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createDb, type DbHandle } from './db/client';
import { migrate } from './db/migrator';
import { createApp } from './http/app';
import { logger } from './logger';
import { slowQueryLogger } from './monitoring/db-instrumentation';
import { RelayMetrics } from './monitoring/metrics';
import { EndpointService } from './services/endpoint.service';
import { createPersistence, type Unwritten } from './services/persistence';
import type { StatsStore } from './services/stats/stats-store';
import { ConnectionManager } from './websocket/connection-manager';
import { MessageRouter } from './websocket/message-router';
import { CLOSE_ENDPOINT_DELETED, CLOSE_GOING_AWAY } from './websocket/close-codes';
import { RelayWsServer } from './websocket/server';

export { CLOSE_ENDPOINT_DELETED, CLOSE_GOING_AWAY } from './websocket/close-codes';

export interface Relay {
  readonly server: http.Server;
  readonly db: DbHandle;
  readonly stats: StatsStore;
  readonly connections: ConnectionManager;
  readonly metrics: RelayMetrics;
  readonly ws: RelayWsServer;
  /** Actual port, useful with PORT=0. */
  port(): number;
  /** Stats and device data still held in memory only (a shutdown that times out loses them). */
  unwritten(): Unwritten;
  /**
   * Stops accepting, closes every socket with 1001 and writes what is pending, all within
   * SHUTDOWN_TIMEOUT_MS. Resolves with what could not be written (zeros when everything was).
   */
  stop(): Promise<Unwritten>;
}

export interface RelayOptions {
  config: Config;
  /** The key /api requires (config.API_KEY or the generated one). */
  apiKey: string;
}

/** Migrates the database, wires every part and starts listening. */
export async function startRelay({ config, apiKey }: RelayOptions): Promise<Relay> {
  await migrate(config.DATABASE_URL);
  const connections = new ConnectionManager(config.WS_MAX_BUFFERED_BYTES);
  const metrics = new RelayMetrics(connections);
  const logIfSlow = slowQueryLogger(config.SLOW_QUERY_MS);
  const db = createDb({
    url: config.DATABASE_URL,
    poolSize: config.DB_POOL_SIZE,
    sqliteJournalMode: config.SQLITE_JOURNAL_MODE,
    sqliteBusyTimeoutMs: config.SQLITE_BUSY_TIMEOUT_MS,
    observer: {
      statement: (verb) => metrics.dbStatements.inc({ verb }),
      query: (model, operation, seconds, failed) => {
        metrics.dbQuerySeconds.observe({ model, operation }, seconds);
        if (failed) metrics.dbQueryErrors.inc({ model, operation });
        logIfSlow(model, operation, seconds);
      },
    },
  });
  const persistence = createPersistence(config, db.prisma, metrics);
  const { stats, deviceData, alerts } = persistence;
  const endpoints = new EndpointService(db.prisma, {
    cacheSize: config.TOKEN_CACHE_SIZE,
    cacheTtlMs: config.TOKEN_CACHE_TTL_MS,
    maxConcurrentLookups: config.TOKEN_CHECK_CONCURRENCY,
  });
  metrics.gauge(
    'relay_token_lookups_waiting',
    'Connects whose token check waits for a database turn (TOKEN_CHECK_CONCURRENCY)',
    () => endpoints.lookups.queued,
  );
  const router = new MessageRouter(connections, stats, deviceData, alerts, metrics);

  const app = createApp({
    db,
    apiKey,
    metrics,
    metricsPublic: config.METRICS_PUBLIC,
    publicWsUrl: config.PUBLIC_WS_URL,
    endpoints,
    stats,
    deviceData,
    alerts,
    onEndpointDeleted: (id) => {
      stats.forget(id);
      deviceData.writer.forget(id);
      alerts.invalidate(id);
      connections.closeEndpoint(id, CLOSE_ENDPOINT_DELETED, 'endpoint deleted');
    },
  });
  const server = http.createServer(app);
  const ws = new RelayWsServer({
    server,
    connections,
    router,
    endpoints,
    stats,
    counters: metrics.counters,
    maxPayload: config.WS_MAX_PAYLOAD_BYTES,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    heartbeatSlots: config.HEARTBEAT_SLOTS,
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, config.LISTEN_BACKLOG, () => {
      server.off('error', reject);
      resolve();
    });
  });

  let stopping: Promise<Unwritten> | undefined;
  const relay: Relay = {
    server,
    db,
    stats,
    connections,
    metrics,
    ws,
    port: () => (server.address() as AddressInfo).port,
    unwritten: () => persistence.unwritten(),
    stop: () =>
      (stopping ??= (async () => {
        const until = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
        // Stop accepting first so no socket arrives while the rest are being closed.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await ws.closeAll(
          CLOSE_GOING_AWAY,
          'server shutting down',
          Math.min(3000, config.SHUTDOWN_TIMEOUT_MS / 2),
        );
        server.closeAllConnections();
        await closed;
        // The database gets whatever is left of the shutdown budget, not a budget of its own.
        const unwritten = await persistence.drain(Math.max(0, until - Date.now()));
        await db.prisma.$disconnect();
        return unwritten;
      })()),
  };
  logger.info('relay listening', {
    port: relay.port(),
    host: config.HOST,
    db: db.provider,
    statsMode: stats.mode,
    heartbeatMs: config.HEARTBEAT_INTERVAL_MS,
    heartbeatSlots: ws.heartbeat.slotCount,
    listenBacklog: config.LISTEN_BACKLOG,
  });
  return relay;
}
