import { dbProvider, type Config } from '../config';
import type { Db } from '../db/client';
import type { RelayMetrics } from '../monitoring/metrics';
import { AlertService } from './alert.service';
import { BatchedDeviceDataWriter } from './device-data/batched-device-data-writer';
import { ImmediateDeviceDataWriter } from './device-data/device-data-writer';
import { DeviceDataService } from './device-data.service';
import { BatchedStats, createStatsStore, type StatsStore } from './stats.service';

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

/** Builds the stats, device-data and alert-rule services for STATS_MODE. */
export function createPersistence(config: Config, prisma: Db, metrics: RelayMetrics): Persistence {
  const batched = config.STATS_MODE === 'batched';
  const stats = createStatsStore(config.STATS_MODE, prisma, {
    provider: dbProvider(config.DATABASE_URL),
    flushIntervalMs: config.STATS_FLUSH_INTERVAL_MS,
    maxPendingEndpoints: config.STATS_FLUSH_MAX_PENDING,
    onFlush: metrics.flushObserver('stats'),
  });
  const writer = batched
    ? new BatchedDeviceDataWriter(prisma, {
        flushIntervalMs: config.STATS_FLUSH_INTERVAL_MS,
        batchSize: config.DEVICE_DATA_BATCH_SIZE,
        maxQueued: config.DEVICE_DATA_QUEUE_MAX,
        onFlush: metrics.flushObserver('device_data'),
        onDrop: () => metrics.deviceDataDropped.inc(),
        onOrphaned: (rows) => metrics.deviceDataOrphaned.inc(rows),
      })
    : new ImmediateDeviceDataWriter(prisma);
  if (stats instanceof BatchedStats) {
    metrics.gauge(
      'relay_stats_pending_endpoints',
      'Endpoints with stats not yet written',
      () => stats.pendingEndpoints,
    );
  }
  if (writer instanceof BatchedDeviceDataWriter) {
    metrics.gauge('relay_device_data_queued', 'Device readings waiting to be written', () => writer.queued);
  }
  const unwritten = (): Unwritten => ({
    statsEndpoints: stats instanceof BatchedStats ? stats.unwrittenEndpoints : 0,
    deviceReadings: writer instanceof BatchedDeviceDataWriter ? writer.queued : 0,
  });
  return {
    stats,
    deviceData: new DeviceDataService(prisma, writer),
    alerts: new AlertService(prisma, batched ? config.ALERT_RULES_CACHE_MS : 0),
    unwritten,
    drain: async (deadlineMs) => {
      await Promise.all([stats.drain(deadlineMs), writer.drain(deadlineMs)]);
      return unwritten();
    },
  };
}
