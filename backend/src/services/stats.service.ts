import type { Db } from '../db/client';
import { BatchedStats, type BatchedStatsOptions } from './stats/batched-stats';
import { ImmediateStats } from './stats/immediate-stats';
import type { StatsMode, StatsStore } from './stats/stats-store';

export type { StatsMode, StatsStore, StatsView } from './stats/stats-store';
export { BatchedStats } from './stats/batched-stats';

/** Picks the stats driver named by STATS_MODE. */
export function createStatsStore(mode: StatsMode, prisma: Db, batched: BatchedStatsOptions): StatsStore {
  switch (mode) {
    case 'immediate':
      return new ImmediateStats(prisma);
    case 'batched':
      return new BatchedStats(prisma, batched);
  }
}
