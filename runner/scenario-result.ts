/**
 * One scenario's result and verdict, from what Artillery did (exit code, deadline, printed gate
 * verdicts, JSON report) and what the samplers saw. Pure: no I/O, so every verdict case is a
 * unit test (runner/test/scenario-result.test.ts).
 */
import {
  decodeHistogram,
  newHistogram,
  summarize as summarizeHistogram,
  type LatencySummary,
} from '../processors/lib/latency';
import { HISTOGRAMS } from '../processors/lib/metric-names';
import type { ArtilleryRun } from './artillery-process';
import type { ScenarioSpec } from './catalog';
import { parseCheckLines, type GateResult } from './gates';
import { summarize, type ProcSample, type ResourceSummary } from './proc-sampler';
import type { SecondTotals } from './progress';
import {
  frameCounts,
  latencyStats,
  resourceSeries,
  seriesFrom,
  type ArtilleryReport,
  type FrameCounts,
  type LatencyStats,
  type ScenarioPlan,
  type ScenarioResult,
} from './results';

export interface Verdict {
  status: ScenarioResult['status'];
  /** why the scenario errored or failed beyond its gates; absent when the gates say it all */
  error?: string;
  /** ensure's verdicts; never strict for an informational scenario */
  gates: GateResult[];
  warnings: string[];
}

export interface VerdictInput {
  informational: boolean;
  /** null when Artillery could not be started */
  artillery: ArtilleryRun | null;
  /** why Artillery could not be started */
  startError?: string;
  /** whether Artillery wrote its JSON report */
  reportWritten: boolean;
  /** gates the scenario was run with (thresholds + conditions); fewer verdicts than this is an error */
  expectedGates: number;
  /**
   * The gates' verdicts when the runner evaluated them itself (several generator processes: on the
   * merged figures, runner/generator-merge.ts); absent: parsed from ensure's lines in Artillery's output.
   */
  gates?: GateResult[];
}

/**
 * Artillery's last lines: its own complaint (bad YAML, a hook failure...) instead of a bare exit
 * code. Stack frames (`    at ...`) and Node's `Node.js v20...` footer are left out first: an
 * uncaught error (a processor that throws while loading, say) ends in ten of them, which would
 * push the error's own message out of the eight lines quoted.
 */
function exitedWith(run: ArtilleryRun): string {
  const tail = run.output
    .trim()
    .split('\n')
    .filter((line) => !/^\s+at /.test(line) && !/^Node\.js v\d/.test(line))
    .slice(-8)
    .join('\n')
    .trim();
  return `Artillery exited with ${run.exitCode}${tail ? `:\n${tail}` : ''}`;
}

/**
 * The verdict of one scenario. A scenario passes only when Artillery ran to completion, wrote its
 * report and printed a verdict for every gate, every strict gate held and (unless informational)
 * Artillery exited 0. Otherwise status is 'error' (no verdict possible: timeout, no report, missing
 * verdicts, not started) or 'failed', and `error` says why unless a failed gate already does.
 */
export function scenarioVerdict(i: VerdictInput): Verdict {
  const run = i.artillery;
  if (!run)
    return { status: 'error', error: i.startError ?? 'Artillery did not run', gates: [], warnings: [] };
  const gates = (i.gates ?? parseCheckLines(run.output)).map((g) => ({
    ...g,
    strict: !i.informational && g.strict,
  }));
  const error = (reason: string): Verdict => ({ status: 'error', error: reason, gates, warnings: [] });
  if (run.timedOut) return error('timed out: Artillery was killed after its deadline');
  if (!i.reportWritten) {
    return error(run.exitCode !== 0 ? exitedWith(run) : 'Artillery exited with 0 and wrote no report');
  }
  if (gates.length === 0) {
    return error(run.exitCode !== 0 ? exitedWith(run) : 'Artillery exited with 0 without gate verdicts');
  }
  if (gates.length < i.expectedGates) {
    return error(`Artillery printed ${gates.length} of ${i.expectedGates} gate verdicts`);
  }
  const strictFailed = gates.some((g) => g.strict && !g.passed);
  if (run.exitCode === 0 || strictFailed) {
    return { status: strictFailed ? 'failed' : 'passed', gates, warnings: [] };
  }
  // Every strict gate held, yet Artillery failed: something other than a gate went wrong.
  if (i.informational) {
    return {
      status: 'passed',
      gates,
      warnings: [`Artillery exited with ${run.exitCode} (informational: not a failure)`],
    };
  }
  return { status: 'failed', error: `${exitedWith(run)}\n(every gate passed)`, gates, warnings: [] };
}

/** Exact latency figures merged from every generator thread's HDR histograms (processors/lib/latency.ts). */
export interface LatencyFigures {
  /** from the intended send time: the gated figure */
  intended: LatencySummary | null;
  /** from the actual send */
  sent: LatencySummary | null;
  sendLag: LatencySummary | null;
  /** --cluster: from the intended send time, sender on the receiver's process / on another one */
  local?: LatencySummary | null;
  cross?: LatencySummary | null;
  /** histogram files merged (one per generator thread) */
  threads: number;
}

/** One progress line's latency histogram: `t` epoch ms at the end of its interval, `hdr` compressed base64 (µs). */
export interface IntervalHistogram {
  t: number;
  hdr: string;
}

/**
 * Exact per-bucket percentiles: merges the interval histograms whose line falls in
 * [periodStart, periodStart + bucketSeconds). Throws on an undecodable histogram.
 */
export function bucketLatency(
  intervals: readonly IntervalHistogram[],
  bucketSeconds = 10,
): (periodStartMs: number) => LatencySummary | null {
  const decoded = intervals.map((i) => ({ t: i.t, h: decodeHistogram(i.hdr) }));
  return (start) => {
    const merged = newHistogram();
    for (const d of decoded) if (d.t >= start && d.t < start + bucketSeconds * 1000) merged.add(d.h);
    return summarizeHistogram(merged);
  };
}

/**
 * Steal (% of the machine's CPU time the hypervisor gave to other guests) from which a scenario
 * is warned about. On a 2-core development VM whose runs lost a median 10 % to steal, the plain
 * driver's own p95 at 5,000 msg/s was 10-43 ms, against 3.6-7.1 ms on another machine of the
 * same kind (docs/performance/README.md "Both tools at once").
 */
export const STEAL_WARNING_PCT = 5;

/**
 * Signs that the numbers show the load generator's limits (or the machine's) rather than the
 * relay's. `stealPct`: the machine's steal time over the scenario, % (null: unknown).
 */
export function loadWarnings(
  frames: FrameCounts,
  generator: ResourceSummary | null,
  stall: LatencyStats | null,
  sendLag: LatencyStats | null,
  latency: Pick<LatencyFigures, 'intended' | 'sent'> | null = null,
  stealPct: number | null = null,
): string[] {
  const sendRatio = frames.due > 0 ? frames.sent / frames.due : null;
  const warnings: string[] = [];
  if (generator && generator.cpuMeanPct >= 90) {
    warnings.push(
      `generator CPU averaged ${generator.cpuMeanPct}% of a core: numbers show the load generator's limit, not the relay's`,
    );
  }
  if (stall && stall.max >= 200) {
    warnings.push(
      `generator event loop stalled up to ${Math.round(stall.max)} ms (tail latency includes generator stalls)`,
    );
  }
  if (sendRatio !== null && sendRatio < 0.95) {
    warnings.push(
      `generator fell behind its schedule: sent ${(sendRatio * 100).toFixed(1)}% of the frames due`,
    );
  }
  if (sendLag && sendLag.p99 > 50) {
    warnings.push(
      `frames left up to ${sendLag.p99} ms late (send lag p99): the generator could not keep the schedule`,
    );
  }
  const slip = latency?.intended && latency.sent ? latency.intended.p99 - latency.sent.p99 : 0;
  if (slip > 50) {
    warnings.push(
      `p99 from the intended send time exceeds p99 from the actual send by ${Math.round(slip)} ms: frames left late (the generator, not the relay, added that part)`,
    );
  }
  if (frames.lateJoins > 0) {
    warnings.push(
      `${frames.lateJoins} ${frames.lateJoins === 1 ? 'connection' : 'connections'} opened after the send window began: until then their endpoints had fewer peers than planned (raise settleMs for this machine)`,
    );
  }
  if (stealPct !== null && stealPct >= STEAL_WARNING_PCT) {
    warnings.push(
      `the machine's host took ${stealPct}% of its CPU time during this scenario (steal): the figures include the host's contention`,
    );
  }
  // Frames sent while their receiver was not counting are `uncounted`, not extra: what is left
  // here was sent while it counted, which one thread's ledger cannot miss, so any is a finding.
  if (frames.extra > 0 && frames.delivered > 0) {
    const one = frames.extra === 1;
    warnings.push(
      `${frames.extra} ${one ? 'frame' : 'frames'} arrived that ${one ? 'was' : 'were'} not owed though sent while ${one ? 'its' : 'their'} receiver was counting: peers may be split across generator workers (delivery accounting is not exact)`,
    );
  }
  return warnings;
}

export interface BuildInput {
  spec: ScenarioSpec;
  plan: ScenarioPlan;
  /** Artillery's JSON report; null when it wrote none (or an unreadable one) */
  report: ArtilleryReport | null;
  /** null when Artillery could not be started */
  artillery: ArtilleryRun | null;
  startError?: string;
  /** gates the scenario was run with (thresholds + conditions) */
  expectedGates: number;
  /** wall-clock seconds the scenario took, Artillery's start-up included */
  durationSec: number;
  relaySamples: ProcSample[];
  /**
   * Samples of the generator: one list per Artillery process (several with --generators). The CPU
   * the generator check sees is the busiest process's (each has one worker thread that can saturate);
   * the resource series shows their sum.
   */
  generatorSamples: ProcSample[] | ProcSample[][];
  seconds: SecondTotals[];
  /** null when no generator thread wrote histograms (nothing delivered, or Artillery failed early) */
  latency: LatencyFigures | null;
  /** per-second latency histograms from the progress lines, for the per-bucket series */
  intervals: IntervalHistogram[];
  /** gate verdicts the runner evaluated itself (see VerdictInput.gates) */
  gates?: GateResult[];
  /** the machine's steal time over the scenario, % of all CPU time (proc-sampler stealPercent); null or absent: unknown */
  machineStealPct?: number | null;
}

/** The per-process sample lists of BuildInput.generatorSamples. */
function perProcess(samples: ProcSample[] | ProcSample[][]): ProcSample[][] {
  return samples.length > 0 && Array.isArray(samples[0])
    ? (samples as ProcSample[][])
    : [samples as ProcSample[]];
}

/** Samples summed per second over processes (CPU adds; RSS adds), for the resource series. */
export function sumSamplesPerSecond(lists: readonly ProcSample[][]): ProcSample[] {
  if (lists.length === 1) return lists[0];
  const bySecond = new Map<number, ProcSample>();
  for (const list of lists) {
    for (const x of list) {
      const key = Math.floor(x.t / 1000) * 1000;
      const s = bySecond.get(key);
      if (s) {
        s.cpuPct = Math.round((s.cpuPct + x.cpuPct) * 10) / 10;
        s.rssMb += x.rssMb;
      } else bySecond.set(key, { t: key, cpuPct: x.cpuPct, rssMb: x.rssMb });
    }
  }
  return [...bySecond.values()].sort((a, b) => a.t - b.t);
}

/** The busiest generator process's summary (highest mean CPU); null when none was sampled. */
export function busiestGenerator(lists: readonly ProcSample[][]): ResourceSummary | null {
  let busiest: ResourceSummary | null = null;
  for (const list of lists) {
    const s = summarize(list);
    if (s && (!busiest || s.cpuMeanPct > busiest.cpuMeanPct)) busiest = s;
  }
  return busiest;
}

/** The figures and verdict of one scenario, as run.json stores them (relayMetrics and memory are added by the caller). */
export function buildScenarioResult(i: BuildInput): ScenarioResult {
  const agg = i.report?.aggregate ?? {};
  const counters = agg.counters ?? {};
  const frames = frameCounts(counters);
  const latency = i.latency?.intended ?? null;
  const sendLag = i.latency?.sendLag ?? null;
  const stall = latencyStats(agg.summaries?.[HISTOGRAMS.loopStall]);
  const relay = summarize(i.relaySamples);
  const generatorLists = perProcess(i.generatorSamples);
  const generator = busiestGenerator(generatorLists);
  const verdict = scenarioVerdict({
    informational: i.spec.informational ?? false,
    artillery: i.artillery,
    startError: i.startError,
    reportWritten: i.report !== null,
    expectedGates: i.expectedGates,
    gates: i.gates,
  });

  return {
    name: i.spec.name,
    family: i.spec.family,
    summary: i.spec.summary,
    informational: i.spec.informational ?? false,
    plan: i.plan,
    status: verdict.status,
    error: verdict.error,
    exitCode: i.artillery?.exitCode ?? null,
    durationSec: Math.round(i.durationSec),
    vusers: {
      created: counters['vusers.created'] ?? 0,
      completed: counters['vusers.completed'] ?? 0,
      failed: counters['vusers.failed'] ?? 0,
    },
    peakOpenConnections: i.seconds.reduce((m, s) => Math.max(m, s.vus), 0),
    latency,
    latencyFromSend: i.latency?.sent ?? null,
    connectMs: latencyStats(agg.summaries?.[HISTOGRAMS.connect]),
    sendLagMs: sendLag,
    frames,
    sentPerSec: Math.round((frames.sent / i.plan.sendSeconds) * 10) / 10,
    deliveredPerSec: Math.round((frames.delivered / i.plan.sendSeconds) * 10) / 10,
    sendRatio: frames.due > 0 ? frames.sent / frames.due : null,
    lossPct: frames.expected > 0 ? (frames.lost / frames.expected) * 100 : null,
    relay,
    generator,
    generatorStallMaxMs: stall ? stall.max : null,
    machineStealPct: i.machineStealPct ?? null,
    gates: verdict.gates,
    warnings: [
      ...loadWarnings(frames, generator, stall, sendLag, i.latency, i.machineStealPct ?? null),
      ...verdict.warnings,
    ],
    series: i.report
      ? seriesFrom(i.report, bucketLatency(i.intervals))
      : { start: 0, t: [], sentPerSec: [], deliveredPerSec: [], p50: [], p95: [], p99: [] },
    resources: resourceSeries(i.relaySamples, sumSamplesPerSecond(generatorLists), i.seconds),
    generators: generatorLists.length,
  };
}
