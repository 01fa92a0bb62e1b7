import type { Config } from '../config';
import { providerOf } from '../db/database-url';
import { dialectOf } from '../db/dialects';
import type { Db } from '../db/prisma';
import type { StatementRunner } from '../db/bulk/statement-runner';
import type { RelayMetrics } from '../monitoring/metrics';
import { AlertService, runnerAlertStore } from './alert.service';
import { createDeviceDataWriter } from './device-data/create-device-data-writer';
import { DeviceDataService } from './device-data.service';
import { createStatsStore } from './stats/create-stats-store';
import type { StatsStore } from './stats/stats-store';

export interface Persistence {
  stats: StatsStore;
  deviceData: DeviceDataService;
  alerts: AlertService;
  /**
   * Writes everything still pending (shutdown), retrying a refusing database for at most
   * `deadlineMs` milliseconds. Resolves with what could not be written; never rejects.
   */
  drain(deadlineMs: number): Promise<Unwritten>;
  /** What is still held in memory, not yet in the database. */
  unwritten(): Unwritten;
}

/** Counts of data held in memory only: endpoints with stats deltas, device readings queued. */
export interface Unwritten {
  statsEndpoints: number;
  deviceReadings: number;
}

/**
 * Builds the stats, device-data and alert-rule services for STATS_MODE; each registers its own
 * gauges. `statements` runs the stats flushes and the device-data batches (DbHandle.statements;
 * Prisma when omitted).
 */
export function createPersistence(
  config: Config,
  prisma: Db,
  metrics: RelayMetrics,
  statements?: StatementRunner,
): Persistence {
  const provider = providerOf(config.DATABASE_URL);
  const stats = createStatsStore(config.STATS_MODE, prisma, {
    provider,
    flushIntervalMs: config.STATS_FLUSH_INTERVAL_MS,
    maxPendingEndpoints: config.STATS_FLUSH_MAX_PENDING,
    statements,
    onFlush: metrics.flushObserver('stats'),
  });
  const writer = createDeviceDataWriter(config.STATS_MODE, prisma, {
    provider,
    flushIntervalMs: config.STATS_FLUSH_INTERVAL_MS,
    backlogMaxMs: config.DEVICE_DATA_STALL_MS,
    batchSize: config.DEVICE_DATA_BATCH_SIZE,
    statements,
    maxQueued: config.DEVICE_DATA_QUEUE_MAX,
    onFlush: metrics.flushObserver('device_data'),
    onDrop: () => metrics.deviceDataDropped.inc(),
    onOrphaned: (rows) => metrics.deviceDataOrphaned.inc(rows),
    onRefused: (rows, reason) => metrics.deviceDataRejected.inc({ reason }, rows),
  });
  stats.registerMetrics(metrics);
  writer.registerMetrics(metrics);
  const cachesRules = config.STATS_MODE === 'batched';
  const unwritten = (): Unwritten => ({
    statsEndpoints: stats.unwrittenEndpoints,
    deviceReadings: writer.unwritten,
  });
  return {
    stats,
    deviceData: new DeviceDataService(prisma, writer, dialectOf(provider).maxJsonDepth),
    alerts: new AlertService(
      prisma,
      cachesRules ? config.ALERT_RULES_CACHE_MS : 0,
      // Batched mode stores alerts on the writer thread when it runs (BULK_WRITES=thread); the
      // legacy immediate mode keeps Prisma's create, as measured for the baseline.
      cachesRules && statements?.insertIds ? runnerAlertStore(statements, provider) : undefined,
    ),
    unwritten,
    drain: async (deadlineMs) => {
      await Promise.all([stats.drain(deadlineMs), writer.drain(deadlineMs)]);
      return unwritten();
    },
  };
}
