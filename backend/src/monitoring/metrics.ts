import client from 'prom-client';
import { PlainHistogram } from './plain-histogram';

/**
 * Why the relay lost a socket: relay_disconnects_total's `reason` label. `slow_consumer`: it
 * held more than WS_MAX_BUFFERED_BYTES unsent for a client that stopped reading.
 */
export const DISCONNECT_REASONS = ['slow_consumer'] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

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
  readonly disconnects: Record<DisconnectReason, number> = { slow_consumer: 0 };
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

  constructor(connections: ConnectionSource) {
    const registry = this.registry;
    // Process CPU, RSS, heap and event-loop delay (perf_hooks.monitorEventLoopDelay) percentiles.
    client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
    const c = this.counters;
    const fromCounter = (name: string, help: string, read: () => number) =>
      new client.Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
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
      help: 'Sockets disconnected, by reason (slow_consumer: dropped for exceeding WS_MAX_BUFFERED_BYTES)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const reason of DISCONNECT_REASONS) this.inc({ reason }, c.disconnects[reason]);
      },
    });
    new client.Gauge({
      name: 'relay_connections',
      help: 'Open WebSocket connections per endpoint',
      labelNames: ['endpoint'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [endpoint, n] of connections.perEndpoint()) this.set({ endpoint }, n);
      },
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
      help: 'Rows in batched writes (endpoints for stats, readings for device data), by kind and outcome',
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

  /** Hooks a batching writer reports each flush through. */
  flushObserver(kind: 'stats' | 'device_data') {
    return (rows: number, seconds: number, ok: boolean) => {
      const outcome = ok ? 'ok' : 'failed';
      this.flushSeconds.observe({ kind, outcome }, seconds);
      this.flushRows.inc({ kind, outcome }, rows);
    };
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
