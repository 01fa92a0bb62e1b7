import type { StatsMode } from '../../config';
import type { Db } from '../../db/prisma';
import { BatchedStats, type BatchedStatsOptions } from './batched-stats';
import { ImmediateStats } from './immediate-stats';
import type { StatsStore } from './stats-store';

/** The stats driver STATS_MODE names; `batched` options are used by the batched driver only. */
export function createStatsStore(mode: StatsMode, prisma: Db, batched: BatchedStatsOptions): StatsStore {
  switch (mode) {
    case 'immediate':
      return new ImmediateStats(prisma);
    case 'batched':
      return new BatchedStats(prisma, batched);
  }
}
