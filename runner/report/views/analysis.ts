/** docs/performance/bottleneck-analysis.md: the figures each bottleneck section quotes, from the baseline passes. */
import { baselinePasses, type RunFile } from '../load';
import { breakingPoint, p95Limit } from '../ramp';

/** The baseline passes, with the figures each bottleneck section quotes. */
export function analysisView(runs: RunFile[], generatedAt = new Date().toISOString()) {
  return {
    generatedAt,
    runs: runs.map((run) => {
      const figures = run.scenarios
        .filter((s) => s.relayMetrics)
        .map((s) => ({
          name: s.name,
          sentPerSec: s.sentPerSec,
          latency: s.latency,
          relay: s.relay,
          m: s.relayMetrics!,
        }));
      const ramp = run.scenarios.find((s) => s.family === 'throughput-ramp');
      const busiest = [...figures]
        .filter((f) => !f.name.includes('ramp'))
        .sort((a, b) => b.sentPerSec - a.sentPerSec)[0];
      const profile = run.cpuProfile?.summary;
      const area = (name: string) => profile?.byArea.find((a) => a.area === name)?.selfPercent ?? 0;
      const fn = (re: RegExp) =>
        profile
          ? Math.round(
              profile.top.filter((f) => re.test(f.functionName)).reduce((s, f) => s + f.selfPercent, 0) * 10,
            ) / 10
          : null;
      const framesTotal = figures.reduce((sum, f) => sum + f.m.framesReceived, 0);
      const dbOpsTotal = figures.reduce((sum, f) => sum + f.m.db.queries, 0);
      const share = (part: number | null | undefined, whole: number) =>
        part != null && whole > 0 ? Math.round((part / whole) * 1000) / 1000 : null;
      return {
        ...run,
        figures,
        busiest,
        framesTotal,
        dbOpsPerFrame: share(dbOpsTotal, framesTotal),
        cpuMsPerFrame: profile ? share(profile.busyMs, framesTotal) : null,
        ramp: ramp
          ? { scenario: ramp, breaking: breakingPoint(ramp, p95Limit(run)), m: ramp.relayMetrics }
          : null,
        profile,
        profileFile: run.cpuProfile?.file,
        dbShare: profile
          ? Math.round((area('Prisma client and adapters') + area('database driver')) * 10) / 10
          : null,
        wsShare: profile ? area('ws (WebSocket library)') : null,
        relayShare: profile ? area('relay code') : null,
        jsonShare: fn(/^(parse|stringify|JSON\.)/),
        broadcastShare: fn(/^broadcast$/),
        heartbeatShare: fn(/^(tick|ping)$/),
      };
    }),
  };
}

/** The analysis of the baseline passes of the given run directories; throws when none has one. */
export function analysisViewOf(runDirs: string[], generatedAt: string) {
  return analysisView(baselinePasses(runDirs), generatedAt);
}
