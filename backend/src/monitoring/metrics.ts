import client from 'prom-client';
import type { BusCounters } from '../bus/bus';
import { REJECT_REASONS, type RejectReason } from '../services/device-data/reading-check';
import type { FlushObserver } from '../util/flush-scheduler';
import { PlainHistogram } from './plain-histogram';

/**
 * Why the relay lost a socket: relay_disconnects_total's `reason` label. Each accepted socket is
 * counted once, when the relay forgets it, so `relay_connections_opened_total` minus the sum of
 * every reason is `relay_connections`.
 * - `client_close`: the client closed it or its TCP connection went away.
 * - `heartbeat`: terminated for missing a pong (HEARTBEAT_INTERVAL_MS).
 * - `slow_consumer`: held more than WS_MAX_BUFFERED_BYTES unsent for a client that stopped reading.
 * - `endpoint_deleted`: its endpoint was deleted through the API (close code 4404).
 * - `server_shutdown`: closed with 1001 by a graceful shutdown.
 * - `protocol_error`: ws closed it for a frame it refused (over WS_MAX_PAYLOAD_BYTES, invalid
 *   UTF-8, bad opcode or masking).
 */
export const DISCONNECT_REASONS = [
  'client_close',
  'heartbeat',
  'slow_consumer',
  'endpoint_deleted',
  'server_shutdown',
  'protocol_error',
] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

/** HTTP methods that get their own `method` label; anything else is counted as `other`. */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counters the message path bumps as plain numbers; prom-client reads them only when
 * /metrics is scraped, so a frame costs an addition, not a label lookup.
 */
export class RelayCounters {
  framesReceived = 0;
  bytesReceived = 0;
  deliveries = 0;
  bytesDelivered = 0;
  connectionsOpened = 0;
  connectionsRefused = 0;
  heartbeatTerminations = 0;
  readonly disconnects = Object.fromEntries(DISCONNECT_REASONS.map((r) => [r, 0])) as Record<
    DisconnectReason,
    number
  >;
}

/** Seconds; forwarding is sub-millisecond when healthy and seconds when an overloaded pool makes it wait. */
const FORWARD_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10, 30,
];
const DB_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export interface ConnectionSource {
  /** endpointId -> open sockets */
  perEndpoint(): Iterable<[string, number]>;
}

export interface MetricsOptions {
  /**
   * Also publish relay_endpoint_connections{endpoint} (METRICS_PER_ENDPOINT=1): one series per
   * endpoint that has sockets, so the series count grows with the number of IoT endpoints.
   */
  perEndpoint?: boolean;
}

/** Where a component that keeps state in memory publishes it (see RelayMetrics.gauge). */
export interface GaugeRegistry {
  gauge(name: string, help: string, read: () => number): void;
}

export class RelayMetrics implements GaugeRegistry {
  readonly registry = new client.Registry();
  readonly counters = new RelayCounters();
  /** Observed once per received frame: a PlainHistogram, so a frame costs a few additions. */
  readonly forwardSeconds: PlainHistogram;
  readonly dbQuerySeconds: client.Histogram<'model' | 'operation'>;
  readonly dbStatements: client.Counter<'verb'>;
  readonly dbQueryErrors: client.Counter<'model' | 'operation'>;
  readonly flushSeconds: client.Histogram<'kind' | 'outcome'>;
  readonly flushRows: client.Counter<'kind' | 'outcome'>;
  readonly deviceDataDropped: client.Counter;
  readonly deviceDataOrphaned: client.Counter;
  readonly httpRequests: client.Counter<'method' | 'route' | 'status'>;
  readonly httpSeconds: client.Histogram<'method' | 'route'>;
  readonly deviceDataRejected: client.Counter<'reason'>;
  readonly deviceFramesMalformed: client.Counter;

  constructor(connections: ConnectionSource, options: MetricsOptions = {}) {
    const registry = this.registry;
    // Process CPU, RSS, heap and event-loop delay (perf_hooks.monitorEventLoopDelay) percentiles.
    client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
    const c = this.counters;
    const fromCounter = (name: string, help: string, read: () => number) =>
      this.counterReading(name, help, read);
    fromCounter(
      'relay_frames_received_total',
      'WebSocket frames received from clients',
      () => c.framesReceived,
    );
    fromCounter('relay_received_bytes_total', 'Payload bytes received from clients', () => c.bytesReceived);
    fromCounter(
      'relay_deliveries_total',
      'Frames sent to recipients (one per recipient)',
      () => c.deliveries,
    );
    fromCounter('relay_delivered_bytes_total', 'Payload bytes sent to recipients', () => c.bytesDelivered);
    fromCounter(
      'relay_connections_opened_total',
      'WebSocket connections accepted',
      () => c.connectionsOpened,
    );
    fromCounter(
      'relay_connections_refused_total',
      'Upgrades refused (auth, unknown endpoint, DB down)',
      () => c.connectionsRefused,
    );
    fromCounter(
      'relay_heartbeat_terminations_total',
      'Sockets terminated for missing a heartbeat pong',
      () => c.heartbeatTerminations,
    );
    new client.Counter({
      name: 'relay_disconnects_total',
      help: 'Sockets disconnected, by reason: client_close, heartbeat, slow_consumer, endpoint_deleted, server_shutdown, protocol_error',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const reason of DISCONNECT_REASONS) this.inc({ reason }, c.disconnects[reason]);
      },
    });
    new client.Gauge({
      name: 'relay_connections',
      help: 'Open WebSocket connections (all endpoints)',
      registers: [registry],
      collect() {
        let total = 0;
        for (const [, n] of connections.perEndpoint()) total += n;
        this.set(total);
      },
    });
    if (options.perEndpoint) {
      new client.Gauge({
        name: 'relay_endpoint_connections',
        help: 'Open WebSocket connections per endpoint (METRICS_PER_ENDPOINT=1; one series per endpoint)',
        labelNames: ['endpoint'],
        registers: [registry],
        collect() {
          // Endpoints whose last socket closed lose their series instead of keeping a 0.
          this.reset();
          for (const [endpoint, n] of connections.perEndpoint()) this.set({ endpoint }, n);
        },
      });
    }
    this.httpRequests = new client.Counter({
      name: 'relay_http_requests_total',
      help: 'HTTP requests answered, by method, Express route pattern ("unmatched" when no route matched) and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    this.httpSeconds = new client.Histogram({
      name: 'relay_http_request_duration_seconds',
      help: 'HTTP request received to response finished, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: DB_BUCKETS,
      registers: [registry],
    });
    this.forwardSeconds = new PlainHistogram(
      'relay_forward_duration_seconds',
      'Frame received to the last recipient send issued, including any stats write awaited first',
      FORWARD_BUCKETS,
      registry,
    );
    this.dbQuerySeconds = new client.Histogram({
      name: 'relay_db_query_duration_seconds',
      help: 'Prisma operation duration by model and operation (raw queries have model "raw")',
      labelNames: ['model', 'operation'],
      buckets: DB_BUCKETS,
      registers: [registry],
    });
    this.dbQueryErrors = new client.Counter({
      name: 'relay_db_query_errors_total',
      help: 'Prisma operations that failed',
      labelNames: ['model', 'operation'],
      registers: [registry],
    });
    this.flushSeconds = new client.Histogram({
      name: 'relay_flush_duration_seconds',
      help: 'Batched writes of stats and device data, by kind and outcome',
      labelNames: ['kind', 'outcome'],
      buckets: DB_BUCKETS,
      registers: [registry],
    });
    this.flushRows = new client.Counter({
      name: 'relay_flush_rows_total',
      help: 'Rows in batched writes (endpoints for stats, readings for device data), by kind and outcome: ok written, failed left queued by a failed flush (again on each retry)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
    this.deviceDataDropped = new client.Counter({
      name: 'relay_device_data_dropped_total',
      help: 'Device readings refused because the write queue was full',
      registers: [registry],
    });
    this.deviceDataOrphaned = new client.Counter({
      name: 'relay_device_data_orphaned_total',
      help: 'Queued device readings discarded unwritten because their endpoint was deleted',
      registers: [registry],
    });
    this.deviceDataRejected = new client.Counter({
      name: 'relay_device_data_rejected_total',
      help: 'Device readings not stored because the database would refuse them, by reason (too_deep, invalid_unicode, non_finite_number: refused before queueing, the sender told; refused: the database refused the row in a batch)',
      labelNames: ['reason'],
      registers: [registry],
    });
    for (const reason of REJECT_REASONS)
      this.deviceDataRejected.inc({ reason } satisfies { reason: RejectReason }, 0);
    this.deviceFramesMalformed = new client.Counter({
      name: 'relay_device_frames_malformed_total',
      help: 'Frames declaring "type":"device_data" that were not valid JSON or not a valid device frame (the sender gets an error frame)',
      registers: [registry],
    });
    this.dbStatements = new client.Counter({
      name: 'relay_db_statements_total',
      help: 'SQL statements sent to the database by the driver adapter, by leading verb; BEGIN counts transactions requested, including ones that never got a pool connection',
      labelNames: ['verb'],
      registers: [registry],
    });
  }

  /** A gauge read at scrape time, for state that lives elsewhere (queue depths, pending deltas). */
  gauge(name: string, help: string, read: () => number): void {
    new client.Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A counter whose value is a plain number read at scrape time (nothing to do per event). */
  private counterReading(name: string, help: string, read: () => number): client.Counter {
    return new client.Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** The cluster bus's counts (REDIS_URL set): what crossed to and from other processes, and outages. */
  registerBus(bus: BusCounters): void {
    const counter = (name: string, help: string, read: () => number) => this.counterReading(name, help, read);
    counter(
      'relay_bus_published_total',
      'Frames published to the other relay processes',
      () => bus.published,
    );
    counter(
      'relay_bus_publish_dropped_total',
      'Frames other processes never got because the bus (Redis) was down',
      () => bus.publishDropped,
    );
    counter(
      'relay_bus_received_total',
      'Frames from other relay processes delivered to this one',
      () => bus.received,
    );
    counter(
      'relay_bus_control_dropped_total',
      'Endpoint deletes and alert-rule changes not told to other processes (bus down)',
      () => bus.controlDropped,
    );
    counter(
      'relay_bus_disconnects_total',
      'Times the connection to the bus (Redis) was lost',
      () => bus.disconnects,
    );
    this.gauge('relay_bus_connected', '1 while connected to the bus (Redis), else 0', () => bus.connected);
  }

  /**
   * The onFlush callback of a batched writer of `kind`: one duration observation per flush,
   * labelled `failed` when the flush left rows queued; the rows it wrote count as `ok` either way.
   */
  flushObserver(kind: 'stats' | 'device_data'): FlushObserver {
    return ({ written, failed, seconds }) => {
      this.flushSeconds.observe({ kind, outcome: failed > 0 ? 'failed' : 'ok' }, seconds);
      if (written > 0) this.flushRows.inc({ kind, outcome: 'ok' }, written);
      if (failed > 0) this.flushRows.inc({ kind, outcome: 'failed' }, failed);
    };
  }

  /**
   * Counts one answered HTTP request. `route`: an Express route pattern such as
   * `/api/endpoints/:id`, or `unmatched`, never a raw URL (the label set must stay bounded).
   */
  httpObserve(method: string, route: string, status: number, seconds: number): void {
    const m = HTTP_METHODS.has(method) ? method : 'other';
    this.httpRequests.inc({ method: m, route, status: String(status) });
    this.httpSeconds.observe({ method: m, route }, seconds);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
