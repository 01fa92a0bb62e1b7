/**
 * Open-loop send schedule for one connection.
 *
 * The number of frames due by time t depends only on the wall clock, never on
 * how fast earlier frames went out, so a slow relay (or a busy generator)
 * cannot quietly lower the offered load — the "coordinated omission" trap of a
 * `send` + `think` loop. The aggregate plan is a list of steps (msg/s for N
 * seconds) shared by all connections; each connection sends 1/connections of
 * it, offset by a random phase so connections do not fire in lockstep.
 */
export interface RateStep {
  /** Aggregate frames per second across all connections of the scenario. */
  ratePerSecond: number;
  seconds: number;
}

/** Parses "500x30,1000x30" (msg/s x seconds) into steps; a bare "100" needs defaultSeconds. */
export function parseRatePlan(spec: string | number, defaultSeconds: number): RateStep[] {
  const parts = String(spec)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error(`empty rate plan "${spec}"`);
  return parts.map((part) => {
    const m = /^(\d+(?:\.\d+)?)(?:x(\d+(?:\.\d+)?))?$/.exec(part);
    if (!m) throw new Error(`bad rate step "${part}" in "${spec}" (expected <msg/s>[x<seconds>])`);
    const seconds = m[2] !== undefined ? Number(m[2]) : defaultSeconds;
    if (!(seconds > 0)) throw new Error(`rate step "${part}" needs a positive duration`);
    return { ratePerSecond: Number(m[1]), seconds };
  });
}

export function planSeconds(steps: readonly RateStep[]): number {
  return steps.reduce((sum, s) => sum + s.seconds, 0);
}

export class SendSchedule {
  private readonly perConnection: { rate: number; startMs: number; endMs: number; before: number }[] = [];
  readonly endMs: number;
  /** Frames due before the connection joined; they are neither sent nor counted as due. */
  readonly skipped: number;

  /**
   * @param startMs wall-clock start of the plan (shared by every connection)
   * @param share fraction of the aggregate rate this connection sends (1/connections)
   * @param phase in [0,1): shifts this connection's send instants within a period
   * @param joinMs frames scheduled before this instant are not owed (late joiners do not burst)
   */
  constructor(
    steps: readonly RateStep[],
    startMs: number,
    share: number,
    private readonly phase: number,
    joinMs = startMs,
  ) {
    let t = startMs;
    let cumulative = 0;
    for (const step of steps) {
      const rate = step.ratePerSecond * share;
      const endMs = t + step.seconds * 1000;
      this.perConnection.push({ rate, startMs: t, endMs, before: cumulative });
      cumulative += rate * step.seconds;
      t = endMs;
    }
    this.endMs = t;
    this.skipped = joinMs > startMs ? this.dueBy(Math.min(joinMs, this.endMs)) : 0;
  }

  /** Frames due by wall-clock time `t` (counting from the plan start, including skipped ones). */
  dueBy(t: number): number {
    return Math.floor(this.cumulative(Math.min(t, this.endMs)) + this.phase);
  }

  /** Frames this connection owes over the whole plan. */
  totalDue(): number {
    return this.dueBy(this.endMs) - this.skipped;
  }

  /** Wall-clock time at which frame number k (1-based, plan-wide) becomes due; Infinity past the plan. */
  timeOf(k: number): number {
    const target = k - this.phase;
    for (const seg of this.perConnection) {
      const segTotal = seg.before + (seg.rate * (seg.endMs - seg.startMs)) / 1000;
      if (target <= segTotal && seg.rate > 0) {
        return seg.startMs + (Math.max(0, target - seg.before) / seg.rate) * 1000;
      }
    }
    return Infinity;
  }

  /**
   * Hands every frame due by `now` after frame `k` to `send(k, dueAtMs)`, in order, and
   * returns the new last frame number. A frame more than `graceMs` overdue once the plan
   * has ended is dropped unsent (counted by the send-ratio gate, not sent in a burst
   * after the window); inside the window a backlog is sent, each frame still carrying its
   * own due time, so latency from the intended send time shows the generator's stall.
   */
  takeDue(k: number, now: number, graceMs: number, send: (k: number, dueAtMs: number) => void): number {
    const limit = Math.min(now, this.endMs);
    for (let at = this.timeOf(k + 1); at <= limit; at = this.timeOf(k + 1)) {
      k++;
      if (now - at > graceMs && now > this.endMs) continue;
      send(k, at);
    }
    return k;
  }

  private cumulative(t: number): number {
    let total = 0;
    for (const seg of this.perConnection) {
      if (t <= seg.startMs) break;
      total = seg.before + (seg.rate * (Math.min(t, seg.endMs) - seg.startMs)) / 1000;
    }
    return total;
  }
}
