import express from 'express';
import type { DbHandle } from '../db/client';

/**
 * One dependency /readyz waits on. `check` resolves when the dependency answers and rejects
 * (with a message that says why) when it does not; it is given `CHECK_TIMEOUT_MS` at most.
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Longest one readiness check may take before it counts as failed, in ms. */
export const CHECK_TIMEOUT_MS = 2000;

/** Rejects with `timeout after <ms> ms` when `work` has not settled within `ms`. */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The database answers a query. SQLite answers `SELECT 1` without opening the file, so there it
 * reads the schema table, which takes the shared lock a locked or unreadable file refuses.
 */
export function databaseCheck(db: DbHandle): ReadinessCheck {
  const sql = db.provider === 'sqlite' ? 'SELECT count(*) FROM sqlite_master' : 'SELECT 1';
  return {
    name: 'database',
    check: async () => {
      await db.prisma.$queryRawUnsafe(sql);
    },
  };
}

/**
 * Whether this process should get traffic: not while it drains for shutdown, nor while any
 * check fails. The relay builds the check list; a component with a dependency of its own (a
 * Redis bus) pushes its check onto `checks`.
 */
export class Readiness {
  private draining = false;

  constructor(readonly checks: ReadinessCheck[] = []) {}

  /** From now on /readyz answers 503 `shutting_down`; called first thing by relay.stop(). */
  startDrain(): void {
    this.draining = true;
  }

  get shuttingDown(): boolean {
    return this.draining;
  }

  /**
   * Runs every check at once. Shape: `{ ready, status: 'ready' | 'not_ready' | 'shutting_down',
   * checks: { [name]: 'up' | 'down: <reason>' } }` (checks are not run while shutting down).
   */
  async evaluate(timeoutMs = CHECK_TIMEOUT_MS): Promise<ReadinessReport> {
    if (this.draining) return { ready: false, status: 'shutting_down', checks: {} };
    const results = await Promise.allSettled(this.checks.map((c) => withTimeout(c.check(), timeoutMs)));
    const checks: Record<string, string> = {};
    let ready = true;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        checks[this.checks[i].name] = 'up';
      } else {
        ready = false;
        checks[this.checks[i].name] = `down: ${summary(r.reason)}`;
      }
    });
    // A shutdown that began while the checks ran wins.
    if (this.draining) return { ready: false, status: 'shutting_down', checks };
    return { ready, status: ready ? 'ready' : 'not_ready', checks };
  }
}

/**
 * One line of an error for a probe body: Prisma's messages open with an empty line and
 * "Invalid `prisma.x()` invocation:"; the first other line says what failed.
 */
function summary(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split('\n').map((l) => l.trim());
  const line = lines.find((l) => l && !/^Invalid `.*` invocation:$/.test(l)) ?? 'failed';
  return line.slice(0, 200);
}

export interface ReadinessReport {
  ready: boolean;
  status: 'ready' | 'not_ready' | 'shutting_down';
  checks: Record<string, string>;
}

/**
 * `GET /livez`: 200 `{status:'ok'}` while the process can answer at all (until it exits).
 * `GET /readyz`: 200 with the ReadinessReport when ready, 503 with it otherwise.
 * Both are public (probes carry no key) and reveal no configuration.
 */
export function healthProbes(readiness: Readiness): express.Router {
  const router = express.Router();
  router.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const report = await readiness.evaluate();
    res.status(report.ready ? 200 : 503).json({ status: report.status, checks: report.checks });
  });
  return router;
}
