/**
 * docs/performance/optimization-summary.md (Story 9.3): what the bottlenecks were, what changed,
 * and what the runs given measured, with the spec's success criteria beside the measured values.
 * Every figure is read from the inputs' run.json, /metrics scrapes and capacity.json; an input
 * that was not given shows as "not measured in the runs given", never as a typed-in number.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CapacityDocument } from '../../capacity/report';
import type { ScenarioResult } from '../../results';
import { byName, loadRun, passesOf, type RunFile } from '../load';
import { breakingPoint, p95Limit } from '../ramp';
import { fmt } from '../render';

/** The run directories the summary is rendered from; each is optional, and a missing one is shown as such. */
export interface SummaryInputs {
  /** `--mode both` run directories (e.g. one on SQLite, one on MySQL): before/after, bottleneck figures, connection scenarios */
  comparison: string[];
  /** a `capacity` run directory (holds capacity.json): the knees of the relay and the reference relay */
  capacity: string | null;
  /** a run directory of the 1 h acceptance scenario (`--profile full --only acceptance`) */
  acceptance: string | null;
  /** a run directory of a `--cluster N` run (or of a `--target` run against a PM2 cluster over Redis) */
  cluster: string | null;
}

/** What a cell says when its input was not given. */
export const NOT_MEASURED = 'not measured in the runs given';

/** The scenario the quick comparison's criteria are read from: 50 endpoints x 10 connections at 1,000 msg/s. */
export const CRITERIA_SCENARIO = 'throughput-1000';

/**
 * The summary's own rule for "no memory leak" (the spec gives none): over at least an hour of
 * traffic, the RSS of the last tenth of the send window is at most this factor of the first tenth's.
 */
export const LEAK_RSS_GROWTH_MAX = 1.05;

/**
 * Shortest send window that counts as "1 h", seconds: the trend spans the first to the last
 * once-a-second sample with frames sent, so a full hour measures a second or so short of 3,600.
 */
export const HOUR_WINDOW_MIN_S = 3600 * 0.99;

type Verdict = 'met' | 'NOT MET' | 'not measured' | 'n/a';

/** One cell of the criteria table: a measured value and what it means for the floor. */
interface Cell {
  text: string;
  verdict: Verdict;
}

const missing: Cell = { text: NOT_MEASURED, verdict: 'not measured' };
const notApplicable: Cell = { text: '-', verdict: 'n/a' };
const cell = (text: string, ok: boolean): Cell => ({ text, verdict: ok ? 'met' : 'NOT MET' });
/** The run was given but holds nothing for this criterion. */
const unmeasured = (text: string): Cell => ({ text, verdict: 'not measured' });

/** Sums over every scenario of a pass that has relay figures. */
function passTotals(run: RunFile) {
  const withMetrics = run.scenarios.filter((s) => s.relayMetrics);
  const sum = (f: (s: ScenarioResult) => number) => withMetrics.reduce((a, s) => a + f(s), 0);
  const frames = sum((s) => s.relayMetrics!.framesReceived);
  const statsWrites = sum((s) => s.relayMetrics!.db.statsWrites);
  const statements = sum((s) => s.relayMetrics!.db.statements);
  const dbOps = sum((s) => s.relayMetrics!.db.queries);
  const per1000 = (n: number) => (frames > 0 ? Math.round((n / frames) * 100000) / 100 : null);
  return {
    frames,
    statsWrites,
    statements,
    dbOps,
    statsWritesPer1000Frames: per1000(statsWrites),
    statementsPer1000Frames: per1000(statements),
    dbOpsPer1000Frames: per1000(dbOps),
  };
}

/** 1 - after/before as a percentage (positive: fewer/lower after); null when it cannot be computed. */
function reductionPct(before: number | null | undefined, after: number | null | undefined): number | null {
  if (before == null || after == null || before <= 0) return null;
  return Math.round((1 - after / before) * 1000) / 10;
}

/** A ramp that never crossed the gate: the highest step it held (a lower bound), or that nothing was sent. */
function rampNote(r: { highest: number; breaking: unknown } | null): string | null {
  if (!r || r.breaking) return null;
  return r.highest > 0 ? `not reached (held ${fmt(r.highest)})` : 'no per-10 s series recorded';
}

/** A --mode both run: its two passes (immediate first) and the before/after figures the summary quotes. */
function comparisonOf(dir: string) {
  const passes = passesOf(dir).map(loadRun);
  const before = passes.find((r) => r.meta.statsMode === 'immediate');
  const after = passes.find((r) => r.meta.statsMode === 'batched');
  if (!before || !after)
    throw new Error(`${dir} is not a --mode both run (needs an immediate and a batched pass)`);
  const tb = passTotals(before);
  const ta = passTotals(after);
  const sb = byName(before, CRITERIA_SCENARIO) ?? null;
  const sa = byName(after, CRITERIA_SCENARIO) ?? null;
  const ramp = (run: RunFile) => {
    const s = run.scenarios.find((x) => x.family === 'throughput-ramp');
    return s
      ? { highest: Math.max(0, ...s.series.sentPerSec), breaking: breakingPoint(s, p95Limit(run)) }
      : null;
  };
  const rb = ramp(before);
  const ra = ramp(after);
  // Each row: which bottleneck section it belongs to, the figure before and after, and what "better" is.
  const effects = [
    {
      bottleneck: 1,
      what: 'stats writes per 1,000 frames (all scenarios)',
      before: tb.statsWritesPer1000Frames,
      after: ta.statsWritesPer1000Frames,
    },
    {
      bottleneck: 1,
      what: `in-relay forward time, mean ms (${CRITERIA_SCENARIO})`,
      before: sb?.relayMetrics?.forward.avgMs ?? null,
      after: sa?.relayMetrics?.forward.avgMs ?? null,
    },
    {
      bottleneck: 2,
      what: 'Prisma operations per 1,000 frames (all scenarios)',
      before: tb.dbOpsPer1000Frames,
      after: ta.dbOpsPer1000Frames,
    },
    {
      bottleneck: 2,
      what: `relay CPU, mean % of one core (${CRITERIA_SCENARIO})`,
      before: sb?.relay?.cpuMeanPct ?? null,
      after: sa?.relay?.cpuMeanPct ?? null,
    },
    {
      bottleneck: 3,
      what: 'throughput ramp: msg/s in when p95 first reached the gate',
      before: rb?.breaking?.rate ?? null,
      after: ra?.breaking?.rate ?? null,
      // Not reached: the relay held the ramp's highest step, which is a lower bound.
      beforeNote: rampNote(rb),
      afterNote: rampNote(ra),
    },
    {
      bottleneck: 4,
      what: 'SQL statements per 1,000 frames (all scenarios)',
      before: tb.statementsPer1000Frames,
      after: ta.statementsPer1000Frames,
    },
    {
      bottleneck: 0,
      what: `end-to-end p95 ms (${CRITERIA_SCENARIO})`,
      before: sb?.latency?.p95 ?? null,
      after: sa?.latency?.p95 ?? null,
    },
  ]
    .map((e) => ({
      beforeNote: null,
      afterNote: null,
      ...e,
      reduction: reductionPct(e.before, e.after),
    }))
    .map((e) => ({ ...e, change: e.reduction === null ? '-' : `${fmt(e.reduction)} %` }));
  return {
    dir,
    before,
    after,
    totals: { before: tb, after: ta },
    effects,
    statsWriteReduction: reductionPct(tb.statsWritesPer1000Frames, ta.statsWritesPer1000Frames),
    p95Reduction: reductionPct(sb?.latency?.p95, sa?.latency?.p95),
    criteriaScenario: sa,
  };
}

/** The acceptance scenario of an acceptance run directory; throws when it has none. */
function acceptanceOf(dir: string) {
  for (const run of passesOf(dir).map(loadRun)) {
    const s = run.scenarios.find((x) => x.family === 'acceptance');
    if (s) return { dir, run, s };
  }
  throw new Error(`${dir} holds no run of the acceptance scenario (--profile full --only acceptance)`);
}

/** capacity.json of a capacity run directory; throws when it is missing or not JSON. */
function capacityOf(dir: string) {
  const file = path.join(dir, 'capacity.json');
  if (!existsSync(file))
    throw new Error(`${dir} holds no capacity.json (run \`pnpm test:performance capacity\`)`);
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as CapacityDocument;
    return {
      dir,
      ...doc,
      relayErrors: probeErrors(doc.relay),
      referenceErrors: doc.reference ? probeErrors(doc.reference) : [],
    };
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * The throughput criterion from a capacity search: its knee, unless the search ended on a probe
 * error (no knee was measured) or on the generator (the knee is only a lower bound for the relay).
 */
function capacityCell(capacity: ReturnType<typeof capacityOf> | null): Cell {
  if (!capacity) return missing;
  const { relay, settings } = capacity;
  if (relay.limitedBy === 'error' && relay.kneeMsgPerSec === 0)
    return unmeasured(`the search ended on a probe error: ${probeErrors(relay).join('; ')}`);
  const bound =
    relay.limitedBy === 'generator' ? ' (a lower bound: the load generator fell behind first)' : '';
  return cell(
    `knee ${fmt(relay.kneeMsgPerSec)} msg/s in (p95 < ${fmt(settings.sloMs)} ms, nothing lost)${bound}`,
    relay.kneeMsgPerSec > 500,
  );
}

/** The distinct errors of a search's probes, in probe order. */
export function probeErrors(search: CapacityDocument['relay']): string[] {
  return [...new Set(search.curve.flatMap((p) => (p.error === undefined ? [] : [p.error])))];
}

/** The criteria cells of one scenario measured at 50 x 10 (acceptance or the comparison's batched pass). */
function scenarioCells(s: ScenarioResult | null, run: RunFile | null) {
  if (!s || !run) return null;
  const p = s.plan;
  const held = `${p.endpoints} x ${p.connectionsPerEndpoint} (${fmt(s.peakOpenConnections)} open), ${fmt(s.frames.lost)} lost, ${fmt(s.vusers.failed)} failed VUs`;
  const p95 = s.latency?.p95 ?? null;
  const dbAvg = s.relayMetrics?.db.avgMs ?? null;
  const cpuPeak = s.relay?.cpuPeakPct ?? null;
  const m = s.memory;
  const leakCell = (): Cell => {
    if (!m || m.windowSeconds < HOUR_WINDOW_MIN_S)
      return {
        text: `send window ${fmt((m?.windowSeconds ?? s.plan.sendSeconds) / 60)} min, under 1 h`,
        verdict: 'not measured',
      };
    const ok = s.status === 'passed' && m.rssLastMb <= m.rssFirstMb * LEAK_RSS_GROWTH_MAX;
    return cell(
      `${fmt(m.windowSeconds / 60)} min, ${s.status}; RSS first/last tenth ${fmt(m.rssFirstMb)} / ${fmt(m.rssLastMb)} MB, slope ${fmt(m.rssSlopeMbPerHour)} MB/h`,
      ok,
    );
  };
  // A scenario that did not pass still measured something; its cells say why it did not.
  const caveat =
    s.status === 'invalid'
      ? '; scenario INVALID: the load generator fell behind, so this measures it as much as the relay'
      : s.status === 'error'
        ? `; scenario ERROR: ${s.error ?? 'see the run report'}`
        : s.status === 'failed'
          ? '; scenario failed its gates'
          : '';
  const cells = {
    scale: cell(
      held,
      p.endpoints >= 50 &&
        p.connectionsPerEndpoint >= 10 &&
        s.peakOpenConnections >= p.connections &&
        s.frames.lost === 0 &&
        s.vusers.failed === 0,
    ),
    p95: p95 === null ? unmeasured('no latency recorded') : cell(`${fmt(p95)} ms`, p95 < 100),
    throughput: cell(
      `${fmt(s.sentPerSec)} msg/s in, ${fmt(s.deliveredPerSec)} delivered/s`,
      s.sentPerSec > 500,
    ),
    dbAvg:
      dbAvg === null ? unmeasured('no database operation recorded') : cell(`${fmt(dbAvg, 2)} ms`, dbAvg < 50),
    cpu:
      cpuPeak === null
        ? unmeasured('no CPU samples')
        : cell(`${fmt(cpuPeak)} % peak, ${fmt(s.relay?.cpuMeanPct)} % mean`, cpuPeak < 70),
    leak: leakCell(),
  };
  for (const c of Object.values(cells)) if (c.verdict === 'met' || c.verdict === 'NOT MET') c.text += caveat;
  return cells;
}

/** The scenarios about connection counts (families connections: churn, storm, 5k/19k held) of a pass. */
const connectionScenarios = (run: RunFile) => run.scenarios.filter((s) => s.family === 'connections');

/**
 * The summary's view. Throws when an input that was given cannot be read as what it claims to be
 * (a comparison that is not --mode both, an acceptance run without the acceptance scenario, a capacity
 * directory without capacity.json); inputs not given are listed as missing.
 */
export function summaryView(inputs: SummaryInputs, generatedAt = new Date().toISOString()) {
  const comparisons = inputs.comparison.map(comparisonOf);
  const acceptance = inputs.acceptance ? acceptanceOf(inputs.acceptance) : null;
  const capacity = inputs.capacity ? capacityOf(inputs.capacity) : null;
  const cluster = inputs.cluster ? passesOf(inputs.cluster).map(loadRun) : null;

  // Columns of the criteria table: the acceptance run, each comparison's batched pass (one placeholder
  // column when none was given, so the gap shows), then the capacity search.
  type Comparison = (typeof comparisons)[number];
  const cmpColumns: (Comparison | null)[] = comparisons.length ? comparisons : [null];
  const accCells = acceptance ? scenarioCells(acceptance.s, acceptance.run) : null;
  const headers = [
    acceptance
      ? `acceptance \`${acceptance.run.meta.runId}\` (${acceptance.run.meta.dbProvider}, 1 h)`
      : 'acceptance (1 h, 50 x 10)',
    ...cmpColumns.map((c) =>
      c
        ? `\`${c.after.meta.runId}\` ${CRITERIA_SCENARIO} (${c.after.meta.dbProvider})`
        : `--mode both comparison (${CRITERIA_SCENARIO})`,
    ),
    capacity ? `capacity \`${capacity.runId}\`` : 'capacity search',
  ];
  type Cells = NonNullable<ReturnType<typeof scenarioCells>>;
  /** A criterion the 50 x 10 scenarios answer (acceptance and each comparison's batched pass). */
  const row = (
    criterion: string,
    floor: string,
    pick: (c: Cells) => Cell,
    fromCapacity: Cell = notApplicable,
  ) => ({
    criterion,
    floor,
    cells: [
      accCells ? pick(accCells) : missing,
      ...cmpColumns.map((c) => {
        const cells = c ? scenarioCells(c.criteriaScenario, c.after) : null;
        return cells ? pick(cells) : missing;
      }),
      capacity ? fromCapacity : missing,
    ],
  });
  /** A criterion only a before/after pair answers: the acceptance run and capacity have no "before". */
  const pairRow = (criterion: string, floor: string, f: (c: Comparison) => Cell) => ({
    criterion,
    floor,
    cells: [notApplicable, ...cmpColumns.map((c) => (c ? f(c) : missing)), notApplicable],
  });
  const writeCell = (c: Comparison): Cell =>
    c.statsWriteReduction === null
      ? missing
      : cell(
          `${fmt(c.totals.before.statsWrites)} -> ${fmt(c.totals.after.statsWrites)} stats writes for ${fmt(c.totals.before.frames)} / ${fmt(c.totals.after.frames)} frames (${fmt(c.statsWriteReduction)} % fewer per frame)`,
          c.statsWriteReduction >= 50,
        );
  const improvementCell = (c: Comparison): Cell => {
    const b = byName(c.before, CRITERIA_SCENARIO)?.latency?.p95;
    const a = c.criteriaScenario?.latency?.p95;
    return c.p95Reduction === null
      ? missing
      : cell(`p95 ${fmt(b)} -> ${fmt(a)} ms (${fmt(c.p95Reduction)} % lower)`, c.p95Reduction >= 30);
  };
  const criteria = [
    row('50+ endpoints x 10 connections each', '>= 50 x 10, nothing lost', (x) => x.scale),
    row('WebSocket latency p95', '< 100 ms', (x) => x.p95),
    row('message throughput', '> 500 msg/s', (x) => x.throughput, capacityCell(capacity)),
    row('database operation time, mean', '< 50 ms', (x) => x.dbAvg),
    row('relay CPU at peak load (% of one core)', '< 70 %', (x) => x.cpu),
    row(
      '1 h without crash or memory leak',
      `>= 1 h, passed, RSS growth <= ${fmt((LEAK_RSS_GROWTH_MAX - 1) * 100)} %`,
      (x) => x.leak,
    ),
    pairRow('stats database writes, batched vs legacy (Story 9.2)', '>= 50 % fewer', writeCell),
    pairRow(
      `optimized vs legacy, p95 at ${CRITERIA_SCENARIO} (Story 9.2)`,
      '>= 30 % better',
      improvementCell,
    ),
  ];

  const inputRows = [
    ...(comparisons.length
      ? comparisons.map((c) => ({ input: '--comparison', dir: c.dir, what: c.before.meta.command }))
      : [{ input: '--comparison', dir: null, what: null }]),
    { input: '--acceptance', dir: acceptance?.dir ?? null, what: acceptance?.run.meta.command ?? null },
    {
      input: '--capacity',
      dir: capacity?.dir ?? null,
      what: capacity
        ? `capacity --endpoints ${capacity.settings.endpoints} --conns ${capacity.settings.connectionsPerEndpoint} --hold ${capacity.settings.holdSeconds} (${capacity.settings.database}, STATS_MODE=${capacity.settings.statsMode}, git ${capacity.gitCommit})`
        : null,
    },
    { input: '--cluster', dir: inputs.cluster, what: cluster?.[0]?.meta.command ?? null },
  ].map((r) => ({ ...r, dir: r.dir ? path.relative(process.cwd(), r.dir) || '.' : null }));

  const connectionRows = [
    ...comparisons.flatMap((c) =>
      connectionScenarios(c.after).map((s) => ({ runId: c.after.meta.runId, s })),
    ),
    ...(acceptance
      ? connectionScenarios(acceptance.run).map((s) => ({ runId: acceptance.run.meta.runId, s }))
      : []),
  ];
  const open = [
    ...criteria.flatMap((r) =>
      r.cells.flatMap((c, i) =>
        c.verdict === 'NOT MET' ? [`${r.criterion} (${r.floor}): not met in ${headers[i]}: ${c.text}`] : [],
      ),
    ),
    ...criteria
      .filter((r) => r.cells.every((c) => c.verdict === 'not measured' || c.verdict === 'n/a'))
      .map((r) => `${r.criterion}: ${NOT_MEASURED}`),
    ...[
      ...comparisons.flatMap((c) => [c.before, c.after]),
      ...(acceptance ? [acceptance.run] : []),
      ...(cluster ?? []),
    ].flatMap((run) => {
      const invalid = run.scenarios.filter((s) => s.status === 'invalid').map((s) => s.name);
      const errored = run.scenarios.filter((s) => s.status === 'error').map((s) => s.name);
      return [
        ...(invalid.length
          ? [
              `\`${run.meta.runId}\`: INVALID (the load generator fell behind its plan, so latency measures it as much as the relay): ${invalid.join(', ')}`,
            ]
          : []),
        ...(errored.length ? [`\`${run.meta.runId}\`: ERROR (no result): ${errored.join(', ')}`] : []),
      ];
    }),
  ];
  return {
    generatedAt,
    notMeasured: NOT_MEASURED,
    criteriaScenario: CRITERIA_SCENARIO,
    leakGrowthPct: fmt((LEAK_RSS_GROWTH_MAX - 1) * 100),
    inputs: inputRows,
    missingInputs: inputRows.filter((r) => r.dir === null).map((r) => r.input),
    headers,
    criteria,
    comparisons,
    acceptance,
    capacity,
    cluster: cluster ? cluster.map((run) => ({ run, scenarios: run.scenarios })) : null,
    connectionRows,
    open,
  };
}
