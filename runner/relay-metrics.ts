/**
 * Reads the relay's Prometheus text before and after a scenario and turns the difference into
 * the figures the reports print: DB operations and statements, their durations, in-relay
 * forwarding time, event-loop delay. Durations from histograms are estimated the way
 * Prometheus' histogram_quantile does (linear inside the bucket), and say so in the report.
 */

import { existsSync, readFileSync } from 'node:fs';
import { scenarioFiles } from './paths';
import {
  delta,
  gauge,
  histogramDelta,
  parsePrometheus,
  quantile,
  quantileCapped,
  type Filter,
} from './prometheus';

export { parsePrometheus, quantile } from './prometheus';

const mb = (bytes: number | null) => (bytes === null ? null : Math.round((bytes / 1048576) * 10) / 10);
const ms = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 1e5) / 100);

export interface DbOperation {
  model: string;
  operation: string;
  count: number;
  avgMs: number | null;
  p95Ms: number | null;
  p95MsCapped: boolean;
}

export interface RelayFigures {
  framesReceived: number;
  deliveries: number;
  db: {
    queries: number;
    avgMs: number | null;
    p95Ms: number | null;
    /** p95 is above the highest bucket: at least p95Ms */
    p95MsCapped: boolean;
    errors: number;
    statements: number;
    statementsByVerb: Record<string, number>;
    /** SQL statements per 1,000 frames received; null when no frames flowed */
    statementsPer1000Frames: number | null;
    /**
     * Writes of endpoint statistics: one Prisma `endpointStats.update` each in immediate mode,
     * one flush statement each in batched mode. The message path's own database cost.
     */
    statsWrites: number;
    statsWritesPer1000Frames: number | null;
    operations: DbOperation[];
  };
  forward: {
    count: number;
    avgMs: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    p95MsCapped: boolean;
    p99MsCapped: boolean;
  };
  /** Event-loop delay over the scenario (prom-client resets its monitor at each scrape). */
  eventLoop: { p99Ms: number | null; maxMs: number | null };
  flushes: { kind: string; count: number; avgMs: number | null; rows: number; failed: number }[];
  heartbeatTerminations: number;
  /** Heartbeat slots the relay ran with (gauge relay_heartbeat_slots); null from relays before the gauge. */
  heartbeatSlots: number | null;
  deviceDataDropped: number;
  /** V8 heap in use at the scrape before and after the scenario (after: its connections are closed). */
  heapUsedMb: { before: number | null; after: number | null };
}

export function relayFigures(beforeText: string, afterText: string): RelayFigures {
  const before = parsePrometheus(beforeText);
  const after = parsePrometheus(afterText);
  const framesReceived = delta(before, after, 'relay_frames_received_total');
  const dbHist = histogramDelta(before, after, 'relay_db_query_duration_seconds');
  const fwdHist = histogramDelta(before, after, 'relay_forward_duration_seconds');

  const verbs = new Set(
    after.filter((s) => s.name === 'relay_db_statements_total').map((s) => s.labels.verb),
  );
  const statementsByVerb: Record<string, number> = {};
  for (const verb of verbs) {
    const n = delta(before, after, 'relay_db_statements_total', { verb });
    if (n > 0) statementsByVerb[verb] = n;
  }
  const statements = Object.values(statementsByVerb).reduce((a, b) => a + b, 0);

  const opKeys = new Map<string, Filter>();
  for (const s of after) {
    if (s.name === 'relay_db_query_duration_seconds_count') {
      opKeys.set(`${s.labels.model}.${s.labels.operation}`, {
        model: s.labels.model,
        operation: s.labels.operation,
      });
    }
  }
  const operations: DbOperation[] = [];
  for (const filter of opKeys.values()) {
    const h = histogramDelta(before, after, 'relay_db_query_duration_seconds', filter);
    if (h.count <= 0) continue;
    operations.push({
      model: filter.model,
      operation: filter.operation,
      count: h.count,
      avgMs: ms(h.sumSeconds / h.count),
      p95Ms: ms(quantile(h, 0.95)),
      p95MsCapped: quantileCapped(h, 0.95),
    });
  }
  operations.sort((a, b) => b.count - a.count);

  const kinds = new Set(
    after.filter((s) => s.name === 'relay_flush_duration_seconds_count').map((s) => s.labels.kind),
  );
  const flushes = [...kinds].map((kind) => {
    const ok = histogramDelta(before, after, 'relay_flush_duration_seconds', { kind, outcome: 'ok' });
    const failed = delta(before, after, 'relay_flush_duration_seconds_count', { kind, outcome: 'failed' });
    return {
      kind,
      count: ok.count,
      avgMs: ok.count > 0 ? ms(ok.sumSeconds / ok.count) : null,
      rows: delta(before, after, 'relay_flush_rows_total', { kind, outcome: 'ok' }),
      failed,
    };
  });

  const statsWrites =
    (operations.find((o) => o.model === 'EndpointStats' && o.operation === 'update')?.count ?? 0) +
    flushes.filter((f) => f.kind === 'stats').reduce((sum, f) => sum + f.count + f.failed, 0);
  const per1000 = (n: number) =>
    framesReceived > 0 ? Math.round((n / framesReceived) * 1000 * 100) / 100 : null;

  return {
    framesReceived,
    deliveries: delta(before, after, 'relay_deliveries_total'),
    db: {
      queries: dbHist.count,
      avgMs: dbHist.count > 0 ? ms(dbHist.sumSeconds / dbHist.count) : null,
      p95Ms: ms(quantile(dbHist, 0.95)),
      p95MsCapped: quantileCapped(dbHist, 0.95),
      errors: delta(before, after, 'relay_db_query_errors_total'),
      statements,
      statementsByVerb,
      statementsPer1000Frames: per1000(statements),
      statsWrites,
      statsWritesPer1000Frames: per1000(statsWrites),
      operations,
    },
    forward: {
      count: fwdHist.count,
      avgMs: fwdHist.count > 0 ? ms(fwdHist.sumSeconds / fwdHist.count) : null,
      p95Ms: ms(quantile(fwdHist, 0.95)),
      p99Ms: ms(quantile(fwdHist, 0.99)),
      p95MsCapped: quantileCapped(fwdHist, 0.95),
      p99MsCapped: quantileCapped(fwdHist, 0.99),
    },
    eventLoop: {
      p99Ms: ms(gauge(after, 'nodejs_eventloop_lag_p99_seconds')),
      maxMs: ms(gauge(after, 'nodejs_eventloop_lag_max_seconds')),
    },
    flushes,
    heartbeatTerminations: delta(before, after, 'relay_heartbeat_terminations_total'),
    heartbeatSlots: gauge(after, 'relay_heartbeat_slots') ?? gauge(before, 'relay_heartbeat_slots'),
    deviceDataDropped: delta(before, after, 'relay_device_data_dropped_total'),
    heapUsedMb: {
      before: mb(gauge(before, 'nodejs_heap_size_used_bytes')),
      after: mb(gauge(after, 'nodejs_heap_size_used_bytes')),
    },
  };
}

/**
 * The relay-side figures of one scenario, from the two /metrics scrapes the runner saved in its
 * pass directory; null when either is missing (the relay's /metrics could not be read). The saved
 * scrapes are the one source, so a re-rendered report stays in step with the parser.
 */
export function scenarioRelayFigures(passDir: string, scenario: string): RelayFigures | null {
  const { metricsBefore, metricsAfter } = scenarioFiles(passDir, scenario);
  if (!existsSync(metricsBefore) || !existsSync(metricsAfter)) return null;
  return relayFigures(readFileSync(metricsBefore, 'utf8'), readFileSync(metricsAfter, 'utf8'));
}
