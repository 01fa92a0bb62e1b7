import type { Db } from '../../db/prisma';
import { logger } from '../../logger';
import { settleInFlight } from '../../util/flush-scheduler';
import type { StatsStore, StatsView } from './stats-store';

/**
 * The legacy behaviour, kept as the measured baseline and the rollback path: one awaited
 * Prisma `update ... increment` per connect, disconnect and message. Deliberately not
 * optimised; its cost under load is what the performance pack measures.
 */
export class ImmediateStats implements StatsStore {
  readonly mode = 'immediate' as const;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly forgotten = new Set<string>();

  constructor(private readonly prisma: Db) {}

  recordConnect(endpointId: string): Promise<void> {
    return this.write(endpointId, {
      currentConnections: { increment: 1 },
      totalConnections: { increment: 1 },
    });
  }

  recordDisconnect(endpointId: string): Promise<void> {
    return this.write(endpointId, { currentConnections: { decrement: 1 } });
  }

  recordMessage(endpointId: string): Promise<void> {
    return this.write(endpointId, { totalMessages: { increment: 1 }, lastMessageAt: new Date() });
  }

  forget(endpointId: string): void {
    this.forgotten.add(endpointId);
  }

  async get(endpointId: string): Promise<StatsView | null> {
    const row = await this.prisma.endpointStats.findUnique({ where: { endpointId } });
    if (!row) return null;
    const { currentConnections, totalConnections, totalMessages, lastMessageAt } = row;
    return { currentConnections, totalConnections, totalMessages, lastMessageAt };
  }

  async drain(deadlineMs = 8000): Promise<boolean> {
    return settleInFlight(this.inFlight, deadlineMs);
  }

  /** Each event is written as it happens; nothing is held in memory. */
  readonly unwrittenEndpoints = 0;

  /** Nothing is held in memory between events, so there is nothing to gauge. */
  registerMetrics(): void {}

  /** A failed write is logged and dropped, as the legacy code did: the frame is still forwarded. */
  private async write(
    endpointId: string,
    data: Parameters<Db['endpointStats']['update']>[0]['data'],
  ): Promise<void> {
    if (this.forgotten.has(endpointId)) return;
    const pending = this.prisma.endpointStats.update({ where: { endpointId }, data });
    this.inFlight.add(pending);
    try {
      await pending;
    } catch (err) {
      if (!this.forgotten.has(endpointId)) {
        logger.error('stats write failed', { endpointId, error: (err as Error).message });
      }
    } finally {
      this.inFlight.delete(pending);
    }
  }
}
