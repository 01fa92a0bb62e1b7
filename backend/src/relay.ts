import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bus } from './bus/bus';
import { BusBroadcaster } from './bus/bus-broadcaster';
import { createBus } from './bus/create-bus';
import type { Config } from './config';
import { createDb, type DbHandle } from './db/client';
import { migrate } from './db/migrator';
import { createApp } from './http/app';
import { databaseCheck, Readiness } from './http/health';
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
  /** How this process reaches the others (in-process driver without REDIS_URL). */
  readonly bus: Bus;
  /** What /readyz answers from; `readiness.checks` is the list a new dependency adds its check to. */
  readonly readiness: Readiness;
  /** Actual port, useful with PORT=0. */
  port(): number;
  /** Stats and device data still held in memory only (a shutdown that times out loses them). */
  unwritten(): Unwritten;
  /**
   * Turns /readyz to 503, refuses new sockets, closes every socket with 1001 (HTTP still
   * answering meanwhile, so a load balancer sees the 503), stops listening and writes what is
   * pending, all within SHUTDOWN_TIMEOUT_MS. Resolves with what could not be written (zeros
   * when everything was).
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
  const metrics = new RelayMetrics(connections, { perEndpoint: config.METRICS_PER_ENDPOINT });
  const logIfSlow = slowQueryLogger(config.SLOW_QUERY_MS);
  const db = createDb({
    url: config.DATABASE_URL,
    poolSize: config.DB_POOL_SIZE,
    sqliteJournalMode: config.SQLITE_JOURNAL_MODE,
    sqliteBusyTimeoutMs: config.SQLITE_BUSY_TIMEOUT_MS,
    bulkWrites: config.BULK_WRITES,
    observer: {
      statement: (verb) => metrics.dbStatements.inc({ verb }),
      query: (model, operation, seconds, failed) => {
        metrics.dbQuerySeconds.observe({ model, operation }, seconds);
        if (failed) metrics.dbQueryErrors.inc({ model, operation });
        logIfSlow(model, operation, seconds);
      },
    },
  });
  const persistence = createPersistence(config, db.prisma, metrics, db.statements);
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
  const bus = createBus(config);
  if (bus.distributed) metrics.registerBus(bus.counters);
  // Without REDIS_URL the router talks to the connection manager directly, as it always did.
  const broadcaster = bus.distributed ? new BusBroadcaster(connections, bus) : connections;
  const router = new MessageRouter(broadcaster, stats, deviceData, alerts, metrics);
  const forgetEndpoint = (id: string) => {
    endpoints.invalidateToken(id);
    stats.forget(id);
    deviceData.writer.forget(id);
    alerts.invalidate(id);
    metrics.counters.disconnects.endpoint_deleted += connections.closeEndpoint(
      id,
      CLOSE_ENDPOINT_DELETED,
      'endpoint deleted',
    );
  };
  alerts.onRulesChanged((endpointId) => bus.publishControl({ type: 'alert-rules-changed', endpointId }));
  const counters = metrics.counters;
  await bus.start({
    frame: (endpointId, data, isBinary) => {
      const delivered = connections.broadcast(endpointId, null, data, isBinary);
      counters.deliveries += delivered;
      counters.bytesDelivered += delivered * data.length;
    },
    control: (event) => {
      if (event.type === 'endpoint-deleted') forgetEndpoint(event.endpointId);
      else if (event.type === 'alert-rules-changed') alerts.invalidate(event.endpointId);
    },
    // Deletes and rule changes announced while the bus was down were never heard here.
    reconnected: () => {
      alerts.invalidateAll();
      const ids = [...connections.perEndpoint()].map(([id]) => id);
      if (ids.length === 0) return;
      db.prisma.endpoint
        .findMany({ where: { id: { in: ids } }, select: { id: true } })
        .then((rows) => {
          const alive = new Set(rows.map((r) => r.id));
          for (const id of ids) if (!alive.has(id)) forgetEndpoint(id);
        })
        .catch((err: Error) =>
          logger.warn('could not re-check endpoints after the bus came back', { error: err.message }),
        );
    },
  });
  const readiness = new Readiness([databaseCheck(db)]);
  if (bus.distributed) {
    readiness.checks.push({
      name: 'redis',
      check: async () => {
        if (!bus.counters.connected) throw new Error('bus disconnected; reconnecting');
      },
    });
  }

  const app = createApp({
    db,
    apiKey,
    metrics,
    metricsPublic: config.METRICS_PUBLIC,
    readiness,
    publicWsUrl: config.PUBLIC_WS_URL,
    endpoints,
    stats,
    deviceData,
    alerts,
    onEndpointDeleted: (id) => {
      forgetEndpoint(id);
      bus.publishControl({ type: 'endpoint-deleted', endpointId: id });
    },
  });
  const server = http.createServer(app);
  const ws = new RelayWsServer({
    server,
    connections,
    bus,
    router,
    endpoints,
    stats,
    counters: metrics.counters,
    maxPayload: config.WS_MAX_PAYLOAD_BYTES,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    heartbeatSlots: config.HEARTBEAT_SLOTS,
  });
  metrics.gauge(
    'relay_heartbeat_slots',
    'Groups the heartbeat spreads its pings over (HEARTBEAT_SLOTS, fewer if a slot would be under 10 ms)',
    () => ws.heartbeat.slotCount,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, config.LISTEN_BACKLOG, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    await bus.close();
    throw err;
  });

  let stopping: Promise<Unwritten> | undefined;
  const relay: Relay = {
    server,
    db,
    stats,
    connections,
    metrics,
    ws,
    bus,
    readiness,
    port: () => (server.address() as AddressInfo).port,
    unwritten: () => persistence.unwritten(),
    stop: () =>
      (stopping ??= (async () => {
        const until = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
        readiness.startDrain();
        // closeAll refuses upgrades from its first line, so no socket arrives while the rest are
        // closed; the listener stays open meanwhile so probes read /readyz's 503, not a refusal.
        await ws.closeAll(
          CLOSE_GOING_AWAY,
          'server shutting down',
          Math.min(3000, config.SHUTDOWN_TIMEOUT_MS / 2),
        );
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await bus.close();
        // The database gets whatever is left of the shutdown budget, not a budget of its own.
        const unwritten = await persistence.drain(Math.max(0, until - Date.now()));
        // A statement still on the writer thread (database down) gets only what is left too.
        await db.close(Math.max(0, until - Date.now()));
        return unwritten;
      })()),
  };
  logger.info('relay listening', {
    port: relay.port(),
    host: config.HOST,
    db: db.provider,
    statsMode: stats.mode,
    bus: bus.distributed ? 'redis' : 'local',
    nodeId: bus.nodeId,
    heartbeatMs: config.HEARTBEAT_INTERVAL_MS,
    heartbeatSlots: ws.heartbeat.slotCount,
    listenBacklog: config.LISTEN_BACKLOG,
  });
  return relay;
}
