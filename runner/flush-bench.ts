/**
 * `pnpm test:performance flush-bench`: what one batched stats flush costs as the number of
 * dirty endpoints grows, through the relay's own code (BatchedStats, Prisma, the driver) on a
 * scratch database. On SQLite the driver is synchronous, so this is also how long a flush holds
 * the relay's event loop; it is what STATS_FLUSH_MAX_PENDING and the flush interval trade against.
 */
import { randomUUID } from 'node:crypto';
import { createDb } from '../backend/src/db/client';
import { migrate } from '../backend/src/db/migrator';
import { BatchedStats } from '../backend/src/services/stats/batched-stats';
import { withScratchDatabase } from './scratch-db';

export interface FlushBenchRow {
  /** Dirty endpoints per flush. */
  endpoints: number;
  flushes: number;
  avgMs: number;
  p95Ms: number;
  /** Average cost per endpoint written, in microseconds. */
  perEndpointUs: number;
}

export interface FlushBenchResult {
  provider: 'sqlite' | 'mysql';
  rows: FlushBenchRow[];
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function flushBench(url: string, sizes: number[], budgetMs = 2000): Promise<FlushBenchResult> {
  return withScratchDatabase(url, 'flush', async (scratch) => {
    await migrate(scratch);
    const handle = createDb({ url: scratch, poolSize: 2 });
    try {
      const ids = Array.from({ length: Math.max(...sizes) }, () => randomUUID());
      for (let i = 0; i < ids.length; i += 1000) {
        const slice = ids.slice(i, i + 1000);
        await handle.prisma.endpoint.createMany({
          data: slice.map((id) => ({ id, name: 'flush-bench', tokenHash: 'x'.repeat(64) })),
        });
        await handle.prisma.endpointStats.createMany({ data: slice.map((endpointId) => ({ endpointId })) });
      }
      const stats = new BatchedStats(handle.prisma, {
        provider: handle.provider,
        flushIntervalMs: 3_600_000,
        maxPendingEndpoints: Number.MAX_SAFE_INTEGER,
      });
      const rows: FlushBenchRow[] = [];
      for (const n of sizes) {
        const dirty = ids.slice(0, n);
        const times: number[] = [];
        const started = performance.now();
        // Two unmeasured flushes warm the statement path; then flush for the time budget (at least 5).
        for (let i = 0; times.length < 5 || performance.now() - started < budgetMs; i++) {
          for (const id of dirty) stats.recordMessage(id);
          const t0 = performance.now();
          await stats.flush();
          if (i >= 2) times.push(performance.now() - t0);
          if (times.length >= 200) break;
        }
        times.sort((a, b) => a - b);
        const avg = times.reduce((a, b) => a + b, 0) / times.length;
        rows.push({
          endpoints: n,
          flushes: times.length,
          avgMs: round(avg),
          p95Ms: round(times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]),
          perEndpointUs: round((avg * 1000) / n, 1),
        });
      }
      await stats.drain(1000);
      return { provider: handle.provider, rows };
    } finally {
      await handle.prisma.$disconnect();
    }
  });
}

export function flushBenchTable(results: FlushBenchResult[]): string {
  const lines = [
    '| Database | Dirty endpoints | Flushes timed | Avg ms | p95 ms | µs per endpoint |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of results)
    for (const row of r.rows)
      lines.push(
        `| ${r.provider} | ${row.endpoints} | ${row.flushes} | ${row.avgMs} | ${row.p95Ms} | ${row.perEndpointUs} |`,
      );
  return lines.join('\n');
}
