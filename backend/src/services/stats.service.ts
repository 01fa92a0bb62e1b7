import type { Db } from '../db/client';
import { ImmediateStats } from './stats/immediate-stats';
import type { StatsMode, StatsStore } from './stats/stats-store';

export type { StatsMode, StatsStore, StatsView } from './stats/stats-store';

/** Picks the stats driver named by STATS_MODE. */
export function createStatsStore(mode: StatsMode, prisma: Db): StatsStore {
  switch (mode) {
    case 'immediate':
      return new ImmediateStats(prisma);
  }
}
