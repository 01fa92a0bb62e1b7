/**
 * Every custom metric the processor emits, in one place so the runner, the
 * gates in artillery/common.yml and the report agree on spelling.
 *
 * artillery-plugin-ensure substitutes metric names into gate expressions with
 * a plain substring replace, so no name here may be a substring of another
 * (e.g. `frames_sent` next to `frames_sent_late` would corrupt the expression).
 * processors/test/metric-names.test.ts enforces that.
 */
export const COUNTERS = {
  /** Frames handed to the socket inside the send window. */
  sent: 'e2e.frames_sent',
  /** Frames the open-loop schedule asked for inside the send window. */
  due: 'e2e.frames_due',
  /** Deliveries owed to receivers: one per open peer at the moment a frame was sent. */
  expected: 'e2e.frames_expected',
  /** Unique deliveries that were owed (in-window). */
  delivered: 'e2e.frames_delivered',
  /** Owed deliveries that never arrived before the drain timeout. */
  lost: 'e2e.frames_lost',
  /** A (sender, seq) that arrived a second time. */
  duplicated: 'e2e.frames_duplicated',
  /** Echo of a receiver's own frame, or a frame from another endpoint. */
  misrouted: 'e2e.frames_misrouted',
  /** Arrived in order-breaking position (filled an earlier gap). */
  reordered: 'e2e.frames_reordered',
  /**
   * Arrived but was not owed, sent while the receiver was not counting (before it joined the
   * ledger, e.g. it opened after the window began, or after it stopped, e.g. churn): benign.
   */
  uncounted: 'e2e.frames_uncounted',
  /**
   * Arrived but was not owed though sent while the receiver was counting: its sender is not in
   * the receiver's ledger (peers split across generator workers), so accounting is not exact.
   */
  extra: 'e2e.frames_extra',
  /**
   * Connections (VUs) whose first socket joined the ledger after the send window began: owed only
   * what was sent after, so the endpoint had fewer peers than planned until then (settle too short).
   */
  lateJoins: 'e2e.vus_joined_late',
  /**
   * Deliveries whose latency from the intended send time exceeded config.variables.latencyP95LimitMs
   * (resp. latencyP99LimitMs). Counters add up exactly across generator threads, so
   * `over_p95 <= 0.05 * delivered` is the exact "p95 <= limit" gate ensure can evaluate.
   */
  overP95: 'e2e.latency_over_p95_limit',
  overP99: 'e2e.latency_over_p99_limit',
} as const;

/**
 * Device readings (scenarios with `deviceDataShare` > 0, see processors/lib/device-readings.ts).
 * Every scenario announces them as 0, so the gates in artillery/common.yml hold trivially
 * where no reading is sent.
 */
export const IOT_COUNTERS = {
  /** Frames sent as JSON device_data readings (a share of `sent`). */
  sent: 'iot.readings_sent',
  /** Error frames the relay answered readings with (not stored: queue full, storage failed, refused). */
  refused: 'iot.readings_refused',
  /** Readings of this run's devices the relay had stored when the check ended (exact counts over REST). */
  stored: 'iot.readings_stored',
  /** Readings sent whose value crosses the scenario's alert rule: one alert each. */
  alertsExpected: 'iot.alerts_expected',
  /** Alerts stored for this run's devices when the check ended. */
  alertsFired: 'iot.alerts_fired',
  /** Alert frames the relay broadcast that reached a client (every client of the endpoint gets each). */
  alertFrames: 'iot.alert_frames_received',
} as const;

/**
 * Artillery histograms (approximate summaries). Delivery latency and send lag are not
 * among them: they are recorded exactly in HDR histograms, see processors/lib/latency.ts.
 */
export const HISTOGRAMS = {
  /** From VU start to socket open, ms. */
  connect: 'e2e.connect_ms',
  /** Worst event-loop stall of the generator's worker thread per second, ms. */
  loopStall: 'e2e.loop_stall_ms',
} as const;

export const ALL_METRIC_NAMES: readonly string[] = [
  ...Object.values(COUNTERS),
  ...Object.values(IOT_COUNTERS),
  ...Object.values(HISTOGRAMS),
];
