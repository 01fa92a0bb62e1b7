import type { StatsMode } from '../../config';
import type { GaugeRegistry } from '../../monitoring/metrics';

/** An endpoint's counters as the REST API reports them. */
export interface StatsView {
  currentConnections: number;
  totalConnections: number;
  totalMessages: number;
  lastMessageAt: Date | null;
}

/**
 * How endpoint statistics are recorded. Every mode implements this one interface so the
 * WebSocket layer never knows which is active.
 *
 * Each event method returns a promise only when the caller must wait for it: `immediate`
 * returns its own database write (the legacy behaviour the message handler awaits before
 * forwarding); a batching mode returns nothing, so the hot path never waits on the database.
 */
export interface StatsStore {
  readonly mode: StatsMode;
  recordConnect(endpointId: string): Promise<void> | void;
  recordDisconnect(endpointId: string): Promise<void> | void;
  recordMessage(endpointId: string): Promise<void> | void;
  /** Stops tracking a deleted endpoint; later events for it are ignored. */
  forget(endpointId: string): void;
  get(endpointId: string): Promise<StatsView | null>;
  /**
   * Waits for every write already started (and, for batching modes, writes what is pending,
   * retrying failures) for at most `deadlineMs` milliseconds. Resolves true when nothing is
   * left unwritten, false when the deadline passed first; never rejects.
   */
  drain(deadlineMs?: number): Promise<boolean>;
  /** Endpoints whose changes are held in memory, not yet in the database (0 when nothing is held). */
  readonly unwrittenEndpoints: number;
  /** Adds this driver's own gauges (in-memory state) to the metrics; a no-op for drivers without any. */
  registerMetrics(metrics: GaugeRegistry): void;
}
