/** docs/performance/pool-sizing.md: runs that differ in DB_POOL_SIZE, side by side. */
import { loadConfig } from '../../../backend/src/config';
import type { ScenarioResult } from '../../results';
import { byName, loadPasses, type RunFile } from '../load';

/**
 * Runs that differ in DB_POOL_SIZE, grouped by STATS_MODE and scenario, smallest pool first:
 * what the pool size was chosen from.
 */
export function poolSizingView(runs: RunFile[], generatedAt = new Date().toISOString()) {
  const sized = runs.map((run) => {
    if (!run.meta.relaySettings) {
      throw new Error(`run ${run.meta.runId} did not record its relay settings; re-run it with this runner`);
    }
    const raw = run.meta.relaySettings.DB_POOL_SIZE;
    return {
      run,
      // Unset means the relay's own default, read from the one place that defines it.
      poolSize: raw === undefined ? loadConfig({}).DB_POOL_SIZE : Number(raw),
      isDefault: raw === undefined,
    };
  });
  const op = (s: ScenarioResult, key: string) =>
    s.relayMetrics?.db.operations.find((o) => `${o.model}.${o.operation}` === key) ?? null;
  const modes = [...new Set(sized.map((x) => x.run.meta.statsMode))].map((mode) => {
    const ofMode = sized.filter((x) => x.run.meta.statsMode === mode).sort((a, b) => a.poolSize - b.poolSize);
    const names = [...new Set(ofMode.flatMap((x) => x.run.scenarios.map((s) => s.name)))];
    return {
      mode,
      scenarios: names.map((name) => ({
        name,
        rows: ofMode.flatMap(({ run, poolSize, isDefault }) => {
          const s = byName(run, name);
          return s
            ? [
                {
                  poolSize,
                  isDefault,
                  runId: run.meta.runId,
                  s,
                  tokenCheck: op(s, 'Endpoint.findUnique'),
                  create: op(s, 'Endpoint.create'),
                  flush: op(s, 'raw.$executeRawUnsafe'),
                  statsUpdate: op(s, 'EndpointStats.update'),
                },
              ]
            : [];
        }),
      })),
    };
  });
  const first = sized[0].run.meta;
  const commands = sized.map(({ run }) => ({
    runId: run.meta.runId,
    poolSize: run.meta.relaySettings?.DB_POOL_SIZE,
    command: run.meta.command,
  }));
  return {
    generatedAt,
    meta: first,
    dbProviders: [...new Set(runs.map((r) => r.meta.dbProvider))],
    modes,
    runs: commands,
  };
}

/** The pool-sizing view of every pass of the given run directories. */
export function poolSizingViewOf(runDirs: string[], generatedAt: string) {
  return poolSizingView(loadPasses(runDirs), generatedAt);
}
