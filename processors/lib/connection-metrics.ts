/**
 * Metrics of the connection scenarios (processors/connections.ts), next to the e2e ones of
 * metric-names.ts. Same rule: no name may be a substring of another, here or there, because
 * artillery-plugin-ensure substitutes names into gate expressions by plain string replace.
 */
export const CONN_COUNTERS = {
  /** Sockets opened by the scenario (every cycle's, the first included). */
  opened: 'conn.sockets_opened',
  /** Open attempts that failed and were retried (refused, reset, listen backlog full). */
  retried: 'conn.open_retries',
  /** Sockets that could not be opened within the retry budget (the VU fails). */
  failed: 'conn.open_failures',
  /** Deliveries owed to a socket the storm dropped on purpose: not lost, the client left. */
  droppedOwed: 'conn.owed_at_drop',
} as const;

export const CONN_HISTOGRAMS = {
  /** Open-to-close life of a churned socket, ms. */
  lifetime: 'conn.lifetime_ms',
  /** Reconnect storm: from the drop until this client's new socket is open, ms. */
  reconnect: 'conn.reconnect_ms',
  /** Reconnect storm: from the drop until the new socket received a peer's frame, ms. */
  recovered: 'conn.recovered_ms',
} as const;

export const CONN_METRIC_NAMES: readonly string[] = [
  ...Object.values(CONN_COUNTERS),
  ...Object.values(CONN_HISTOGRAMS),
];
