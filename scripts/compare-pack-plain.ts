/**
 * Pack vs independent driver, same relay build, same rates, interleaved.
 *
 * Starts the built relay (dist/backend/src/main.js, fresh SQLite, STATS_MODE=batched
 * unless --stats-mode) once, then for every rate and repetition runs the Artillery
 * pack's throughput scenario (50 x 10, ratePlan = rate, hold = --seconds, the same
 * gates file as `pnpm test:performance`) and scripts/plain-ws-driver.ts, alternating
 * which goes first. Prints a markdown table of both latencies (p50/p95/p99, ms) per
 * run and the ratio of the pack's p95 to the driver's, then per rate the median p95 of each
 * tool over the reps, their ratio and the pairs within 1.5x (scripts/pack-plain-summary.ts),
 * and writes all figures to
 * --out (JSON). Build first: `pnpm build`. Each row also gives the tool's hottest thread's
 * CPU (cores) over its busiest window of the hold's length (scripts/thread-cpu.ts): the pack's
 * generator worker, the driver's one thread. Near 1 core a tool queues its own work and its
 * latencies measure itself; for the same deliveries it is the tool's cost per delivery. Beside it,
 * that thread's run-queue wait (ms per second ready to run while something else had its core).
 *
 * The pack runs on as many Artillery processes as `pnpm test:performance` would give the rate
 * (`--generators auto`, the default: runner/generator-count.ts), or on K with --generators K, each
 * owning whole endpoints (runner/scenario.ts generatorParts), latency merged from every
 * process's HDR files, delivered counts summed; each pack row says how many ran.
 *
 *   npx tsx scripts/compare-pack-plain.ts --rates 1000,5000,8000 --seconds 20 --reps 2 --out /tmp/cmp.json
 *
 * `--driver-schedule phases` (default), `shuffled` or `endpoint-major` picks the driver's
 * schedule (scripts/plain-ws-driver.ts --schedule; phases is the pack's own model, and
 * endpoint-major flatters the relay).
 *
 * `--paired` runs the two tools at the same time instead of one after the other, each on half of
 * the endpoints at half of the rate (the pack as generator 0 of 2, the driver as party 1 of the
 * same send-window barrier, scripts/plain-ws-driver.ts --window-*), so the relay carries the
 * full rate and both tools measure it in the same seconds: the machine's drift, which moves a
 * sequential pair's two runs apart, is the same for both. It answers whether the pack reports
 * what a plain client reports at the same relay load; whether one pack process keeps the whole
 * rate is the sequential comparison's question. One pack process (refuses --generators K > 1).
 *
 * `--pin` gives the relay (every thread) CPU 0 and each tool (every pack process, the driver)
 * CPU 1, with `taskset`, so neither side's work lands on the other's core; without it the
 * kernel places both on the two cores as it likes.
 *
 * Every pack process runs with the Node flags the runner gives its generators
 * (GENERATOR_NODE_FLAGS, runner/artillery-process.ts), so both measure the same generator.
 * `--pack-node-args="<flags>"` (with `=`: the value starts with a dash) adds Node flags to
 * every pack process's command line, e.g. `--pack-node-args="--trace-gc --max-semi-space-size=64"`;
 * `--trace-gc` cannot go through NODE_OPTIONS. Its lines come from every isolate, worker
 * threads included: read them with scripts/gc-pauses.ts. Each pack process's output is kept
 * as artillery-<i>.log in the run's directory (printed per run), the driver's as driver.log beside
 * its progress file. `--driver-node-args="<flags>"` does the same for the driver, e.g.
 * `--driver-node-args="--trace-gc"` or `--driver-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"`
 * (the pack's worker thread profiles itself with RELAY_PERF_GENERATOR_PROF_DIR instead).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { mergeLatencyDir, summarize, type LatencySummary } from '../processors/lib/latency';
import { spawnRelay } from '../runner/relay-process';
import { artilleryBin, GENERATOR_NODE_FLAGS } from '../runner/artillery-process';
import { parse } from 'yaml';
import { endpointSlices } from '../processors/lib/generator-slice';
import { readSettings } from '../processors/lib/settings';
import { generatorsFor } from '../runner/generator-count';
import { generatorsOf, num, oneOf } from '../runner/options';
import { STATS_MODES } from '../backend/src/config';
import { DRIVER_SCHEDULES } from './driver-schedules';
import { verdictsByRate } from './pack-plain-summary';
import { integerAtLeast, optionArgs, positive, scriptArgs } from './script-args';
import { bundleProcessor } from '../runner/processor-bundle';
import { perSecondLatency } from './per-second-latency';
import {
  hottestThreadWindow,
  readThreadTicks,
  readThreadWaits,
  type ThreadSample,
  type ThreadWindow,
} from './thread-cpu';
import { CLOCK_TICKS, readMachineTicks, readProcStat, stealPercent } from '../runner/proc-sampler';

const ROOT = path.resolve(__dirname, '..');
/** A flags option's value as separate arguments. */
const words = (flags: string): string[] => flags.split(/\s+/).filter(Boolean);
const a = scriptArgs(
  __filename,
  {
    options: {
      rates: { type: 'string', default: '1000,5000,8000' },
      seconds: { type: 'string', default: '20' },
      reps: { type: 'string', default: '2' },
      'stats-mode': { type: 'string', default: 'batched' },
      scenario: { type: 'string', default: 'artillery/throughput-1000.yml' },
      out: { type: 'string', default: path.join(tmpdir(), 'pack-vs-plain.json') },
      generators: { type: 'string', default: 'auto' },
      // the driver's schedule (scripts/plain-ws-driver.ts --schedule); phases is the pack's own model
      'driver-schedule': { type: 'string', default: 'phases' },
      pin: { type: 'boolean', default: false },
      paired: { type: 'boolean', default: false },
      'pack-node-args': { type: 'string', default: '' },
      'driver-node-args': { type: 'string', default: '' },
    },
  },
  ({ values: v }) => ({
    rates: v.rates!.split(',').map((r) => num('--rates', r, positive, 'positive msg/s, comma-separated')!),
    seconds: num('--seconds', v.seconds, positive, 'a positive number of seconds')!,
    reps: num('--reps', v.reps, integerAtLeast(1), 'an integer >= 1')!,
    statsMode: oneOf('--stats-mode', v['stats-mode'], STATS_MODES, 'batched'),
    scenario: v.scenario!,
    out: v.out!,
    generators: generatorsOf(v.generators),
    driverSchedule: oneOf('--driver-schedule', v['driver-schedule'], DRIVER_SCHEDULES, 'phases'),
    pin: v.pin!,
    paired: pairedOf(v.paired!, v.generators!),
    packNodeArgs: words(v['pack-node-args']!),
    driverNodeArgs: words(v['driver-node-args']!),
  }),
);
/** --paired: the pack is one process, generator 0 of the barrier's two parties. */
function pairedOf(paired: boolean, generators: string): boolean {
  if (paired && generators !== 'auto' && generators !== '1')
    throw new Error(`--paired runs the pack as one process: drop --generators ${generators}`);
  return paired;
}
/** --paired: the pack's slice and the driver's, of the scenario's endpoints. */
const PAIRED_PARTIES = 2;
const RELAY_CPU = '0';
const TOOL_CPU = '1';

/** The command line for a tool: under `taskset -c 1` with --pin (taskset execs it, same pid). */
function toolCommand(args: string[]): [string, string[]] {
  return a.pin ? ['taskset', ['-c', TOOL_CPU, process.execPath, ...args]] : [process.execPath, args];
}

/** Moves every thread of a running process to `cpu`; throws when taskset refuses. */
function pinProcess(pid: number, cpu: string): void {
  const r = spawnSync('taskset', ['-a', '-pc', cpu, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -a -pc ${cpu} ${pid} failed: ${r.stderr || r.error?.message}`);
}
const GENERATORS = a.generators;

interface Row {
  rate: number;
  rep: number;
  tool: 'pack' | 'plain';
  intended: LatencySummary | null;
  sent: LatencySummary | null;
  sendLag: LatencySummary | null;
  delivered: number | null;
  exitCode: number | null;
  loadavg1: number;
  /**
   * CPU seconds the relay used during this run (with --paired, during the pair: both rows carry
   * it), and the tool's process (Artillery's start-up included)
   */
  relayCpuSec: number | null;
  toolCpuSec: number | null;
  /**
   * the tool's hottest thread's mean CPU (cores) over its busiest window of the hold's length
   * (the pack's generator worker, the driver's main thread; with --generators the hottest of all
   * processes): near 1 the tool queues its own work (scripts/thread-cpu.ts). With a hold of a
   * few seconds the busiest window can be Artillery's start-up on its main thread instead
   * (0.75 cores for a 3 s hold at 200 msg/s): compare holds of 20 s or more.
   */
  hotThreadCores: number | null;
  /**
   * that thread's run-queue wait over the same window, ms per second (scripts/thread-cpu.ts): time
   * it was ready to run while something else had its core. High with cores well below 1: the tool
   * was kept off its core, not busy.
   */
  hotThreadWaitMsPerSec: number | null;
  /** the pack run's directory (artillery-<i>.log, latency files); pack rows only */
  dir?: string;
  /**
   * the run's per-second latency lines (the pack's RELAY_PERF_PROGRESS_FILE, the driver's
   * --progress-file): `npx tsx scripts/per-second-latency.ts <file>` shows where the tail came from
   */
  progressFile: string;
  /**
   * p95 from the intended send time after the window's first second (ms; null: no lines), from the
   * same file (scripts/per-second-latency.ts, which leaves out the lines of that file's first two
   * seconds, as the window opened at an unknown point of the first): the window opens with the
   * tools' and the relay's code still cold, and over a 20 s hold it holds the twentieth of the
   * deliveries that a p95 looks at. A figure to read beside the p95, not instead of it.
   */
  p95AfterFirstSecondMs: number | null;
  /** Artillery processes the pack ran on; pack rows only */
  generators?: number;
  /** plain rows: the driver's --schedule */
  driverSchedule?: string;
  /** --paired: both tools ran at the same time, each on half of the endpoints and the rate */
  paired?: boolean;
  /** plain rows: epoch ms the driver's send window began (with --paired, the start both tools agreed on) */
  windowStartMs?: number;
  /**
   * the machine's steal time over the run (start-up and drain included), % of all CPU time,
   * idle included (runner/proc-sampler.ts stealPercent): how much of the machine the hypervisor
   * gave to other guests while the run ran; null where /proc/stat has no steal field.
   */
  stealPct: number | null;
}

/** The p95 after the window's first second, from a run's progress file (ms); null when it has no latency lines or cannot be read. */
function p95AfterFirstSecond(progressFile: string): number | null {
  try {
    return perSecondLatency(readFileSync(progressFile, 'utf8')).afterFirstSecond?.p95 ?? null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, all threads) a live process has used so far; null once it is gone. */
function cpuSeconds(pid: number): number | null {
  const stat = readProcStat(pid);
  return stat ? stat.ticks / CLOCK_TICKS : null;
}

/**
 * Runs a child to completion; `cpu` is its CPU seconds as last seen (polled every 250 ms, so
 * slightly low); `hotThread` its hottest thread's busiest `holdSeconds` (scripts/thread-cpu.ts,
 * every thread read once a second).
 */
function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  holdSeconds: number,
): Promise<{ code: number | null; out: string; cpu: number | null; hotThread: ThreadWindow | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let cpu: number | null = null;
    const poll = setInterval(() => (cpu = (child.pid && cpuSeconds(child.pid)) || cpu), 250);
    const threads: ThreadSample[] = [];
    const sampleThreads = (): void => {
      if (!child.pid) return;
      const ticks = readThreadTicks(child.pid);
      if (ticks.size > 0) threads.push({ atMs: Date.now(), ticks, waitNs: readThreadWaits(child.pid) });
    };
    sampleThreads();
    const threadPoll = setInterval(sampleThreads, 1000);
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(poll);
      clearInterval(threadPoll);
      resolve({ code, out, cpu, hotThread: hottestThreadWindow(threads, holdSeconds) });
    });
  });
}

/** cores of the hottest thread, 2 decimals; null when unknown */
const coresOf = (w: ThreadWindow | null | undefined): number | null =>
  w ? Math.round(w.cores * 100) / 100 : null;

/** its run-queue wait, ms per second, 1 decimal; null when unknown */
const waitOf = (w: ThreadWindow | null | undefined): number | null =>
  w && w.waitMsPerSec !== null ? Math.round(w.waitMsPerSec * 10) / 10 : null;

/** The scenario file at `rate` msg/s held `seconds`: its variables override, parsed file and settings. */
function scenarioAt(rate: number, seconds: number) {
  const variables = { ratePlan: String(rate), holdSeconds: seconds };
  const file = path.join(ROOT, a.scenario);
  const doc = parse(readFileSync(file, 'utf8')) as {
    config: { processor: string; phases: { duration: number }[]; variables?: Record<string, unknown> };
  };
  return { variables, file, doc, settings: readSettings({ ...doc.config.variables, ...variables }) };
}

/**
 * --paired: the driver's part of the scenario at `rate` (the last endpoint slice of two, the
 * pack's connections per endpoint and payload) and the share of the aggregate rate its
 * connections send, msg/s, as the pack's connections each send 1/(all connections) of it.
 */
function pairedDriverPart(rate: number, seconds: number) {
  const v = scenarioAt(rate, seconds).settings;
  const slice = endpointSlices(v.endpoints, PAIRED_PARTIES)[PAIRED_PARTIES - 1];
  return {
    index: slice.index,
    endpoints: slice.count,
    connections: v.connectionsPerEndpoint,
    payload: v.payloadBytes,
    rate: (rate * slice.count) / v.endpoints,
  };
}

/**
 * --overrides of each pack process: one process as a hand run does (the scenario's own phases),
 * or K slices of whole endpoints sharing one processor bundle; with --paired, one process on the
 * first of two slices (generator 0 of 2), the driver taking the second.
 */
function packOverrides(rate: number, seconds: number, dir: string): unknown[] {
  const { variables, file, doc, settings: v } = scenarioAt(rate, seconds);
  // Pinned, every pack process shares the one tool CPU: auto then counts one core, the relay
  // having its own; unpinned, the relay shares the machine's cores as under the runner.
  const split = a.paired
    ? { generators: 1, warning: undefined }
    : generatorsFor(GENERATORS, v, true, a.pin ? 1 : undefined, a.pin ? 0 : 1);
  if (split.warning) console.error(`warning: ${split.warning}`);
  const generators = split.generators;
  if (generators === 1 && !a.paired) return [{ config: { variables } }];
  const bundle = bundleProcessor(
    ROOT,
    path.resolve(path.dirname(file), doc.config.processor),
    path.join(dir, 'processor.js'),
  );
  // Paired, the pack is the first of two parties and the driver owns the other slice.
  const parties = a.paired ? PAIRED_PARTIES : generators;
  return endpointSlices(v.endpoints, parties)
    .slice(0, generators)
    .map((slice) => ({
      config: {
        processor: bundle,
        phases: [
          {
            name: 'connect',
            duration: doc.config.phases[0].duration,
            arrivalCount: slice.count * v.connectionsPerEndpoint,
          },
        ],
        variables: { ...variables, generatorIndex: slice.index, generatorCount: parties },
      },
    }));
}

async function pack(target: string, apiKey: string, rate: number, seconds: number, dir: string) {
  const parts = packOverrides(rate, seconds, dir);
  // As the runner sets it: every generator thread writes its per-second line (and histogram).
  const progressFile = path.join(dir, 'progress.jsonl');
  const report = (i: number) => path.join(dir, `report-${i}.json`);
  const runs = await Promise.all(
    parts.map((overrides, i) =>
      run(
        ...toolCommand([
          ...GENERATOR_NODE_FLAGS,
          ...a.packNodeArgs,
          artilleryBin(ROOT),
          'run',
          '--config',
          'artillery/common.yml',
          '--overrides',
          JSON.stringify(overrides),
          '--output',
          report(i),
          a.scenario,
        ]),
        {
          ...process.env,
          TARGET: target,
          API_KEY: apiKey,
          ARTILLERY_DISABLE_TELEMETRY: 'true',
          RELAY_PERF_HDR_DIR: path.join(dir, 'latency'),
          RELAY_PERF_PROGRESS_FILE: progressFile,
        },
        seconds,
      ),
    ),
  );
  const merged = mergeLatencyDir(path.join(dir, 'latency'));
  let delivered: number | null = 0;
  for (const [i, r] of runs.entries()) {
    writeFileSync(path.join(dir, `artillery-${i}.log`), r.out);
    try {
      const json = JSON.parse(readFileSync(report(i), 'utf8')) as {
        aggregate: { counters: Record<string, number> };
      };
      const d = json.aggregate.counters['e2e.frames_delivered'];
      delivered = delivered === null || d === undefined ? null : delivered + d;
    } catch {
      delivered = null;
    }
  }
  const codes = runs.map((r) => r.code);
  // The hottest thread of all processes (with --generators several), and its wait.
  const hottest = runs.every((r) => r.hotThread)
    ? runs.map((r) => r.hotThread!).reduce((a, b) => (b.cores > a.cores ? b : a))
    : null;
  return {
    dir,
    progressFile,
    p95AfterFirstSecondMs: p95AfterFirstSecond(progressFile),
    generators: parts.length,
    intended: merged && summarize(merged.set.intended),
    sent: merged && summarize(merged.set.sent),
    sendLag: merged && summarize(merged.set.sendLag),
    delivered,
    exitCode: codes.includes(null) ? null : Math.max(...(codes as number[])),
    // CPU of every pack process together (Artillery's start-up included).
    toolCpuSec: runs.every((r) => r.cpu !== null)
      ? Math.round(runs.reduce((sum, r) => sum + (r.cpu ?? 0), 0) * 10) / 10
      : null,
    hotThreadCores: hottest ? coresOf(hottest) : null,
    hotThreadWaitMsPerSec: hottest ? waitOf(hottest) : null,
  };
}

/**
 * `progressFile`: where the driver writes its per-second lines. `window`: --paired, the driver's
 * part and the send-window directory it shares with the pack.
 */
async function plain(
  target: string,
  apiKey: string,
  rate: number,
  seconds: number,
  progressFile: string,
  window?: { dir: string; part: ReturnType<typeof pairedDriverPart> },
) {
  const paired: Record<string, string | number> = window
    ? {
        rate: window.part.rate,
        endpoints: window.part.endpoints,
        connections: window.part.connections,
        payload: window.part.payload,
        'window-dir': window.dir,
        'window-index': window.part.index,
        'window-parties': PAIRED_PARTIES,
      }
    : {};
  const r = await run(
    ...toolCommand([
      ...a.driverNodeArgs,
      '--import',
      'tsx',
      'scripts/plain-ws-driver.ts',
      ...optionArgs({
        target,
        'api-key': apiKey,
        rate,
        seconds,
        schedule: a.driverSchedule,
        'progress-file': progressFile,
        ...paired,
      }),
    ]),
    process.env,
    seconds,
  );
  writeFileSync(path.join(path.dirname(progressFile), 'driver.log'), r.out);
  const start = r.out.indexOf('{');
  let d: unknown;
  try {
    d = JSON.parse(r.out.slice(start < 0 ? r.out.length : start));
  } catch {
    // The driver failed before its report: its own words are the reason, not a JSON parse error.
    throw new Error(
      `plain-ws-driver exited ${r.code} without its JSON report; its output ends:\n${r.out.slice(-2000)}`,
    );
  }
  const report = d as {
    latencyFromIntendedMs: LatencySummary | null;
    latencyFromSendMs: LatencySummary | null;
    sendLagMs: LatencySummary | null;
    delivered: number;
    windowStartMs: number;
  };
  return {
    progressFile,
    p95AfterFirstSecondMs: p95AfterFirstSecond(progressFile),
    windowStartMs: report.windowStartMs,
    intended: report.latencyFromIntendedMs,
    sent: report.latencyFromSendMs,
    sendLag: report.sendLagMs,
    delivered: report.delivered,
    exitCode: r.code,
    toolCpuSec: r.cpu,
    hotThreadCores: coresOf(r.hotThread),
    hotThreadWaitMsPerSec: waitOf(r.hotThread),
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'pack-vs-plain-'));
  const relay = await spawnRelay({
    repoRoot: ROOT,
    entry: 'dist/backend/src/main.js',
    statsMode: a.statsMode,
    logFile: path.join(work, 'relay.log'),
  });
  const rows: Row[] = [];
  try {
    if (a.pin) pinProcess(relay.pid, RELAY_CPU);
    const seconds = a.seconds;
    for (const rate of a.rates) {
      for (let rep = 1; rep <= a.reps; rep++) {
        const record = (
          tool: Row['tool'],
          r: Awaited<ReturnType<typeof pack>> | Awaited<ReturnType<typeof plain>>,
          relayCpuSec: number | null,
          stealPct: number | null,
        ): void => {
          const row: Row = {
            rate,
            rep,
            tool,
            ...r,
            loadavg1: Math.round(loadavg()[0] * 100) / 100,
            relayCpuSec,
            stealPct,
            ...(tool === 'plain' ? { driverSchedule: a.driverSchedule } : {}),
            ...(a.paired ? { paired: true } : {}),
          };
          rows.push(row);
          const f = (s: LatencySummary | null) => (s ? `${s.p50} / ${s.p95} / ${s.p99}` : '-');
          console.error(
            `${rate} msg/s rep ${rep} ${tool}${row.generators ? ` (${row.generators} generator${row.generators > 1 ? 's' : ''})` : ''}${a.paired ? ' (paired)' : ''}: intended ${f(row.intended)} (p95 after the first second ${row.p95AfterFirstSecondMs ?? '-'}) | sent ${f(row.sent)} ms | load ${row.loadavg1} | steal ${stealPct ?? '-'} % | CPU s relay ${relayCpuSec} tool ${row.toolCpuSec} | hottest tool thread ${row.hotThreadCores ?? '-'} cores, waited ${row.hotThreadWaitMsPerSec ?? '-'} ms/s${'dir' in r ? ` | logs ${r.dir}` : ` | per second ${r.progressFile}`}`,
          );
        };
        const relayCpuSince = (before: number | null): number | null => {
          const after = cpuSeconds(relay.pid);
          return before !== null && after !== null ? Math.round((after - before) * 10) / 10 : null;
        };
        if (a.paired) {
          // Both at once; the relay's CPU is the pair's.
          const dir = mkdtempSync(path.join(work, 'pack-'));
          const before = cpuSeconds(relay.pid);
          const machine = readMachineTicks();
          // Settled, not all: when one tool fails the other still runs to its end before the error.
          const [ps, ds] = await Promise.allSettled([
            pack(relay.target, relay.apiKey, rate, seconds, dir),
            plain(relay.target, relay.apiKey, rate, seconds, path.join(dir, 'driver-progress.jsonl'), {
              dir: path.join(dir, 'latency'),
              part: pairedDriverPart(rate, seconds),
            }),
          ]);
          if (ps.status === 'rejected') throw ps.reason;
          if (ds.status === 'rejected') throw ds.reason;
          const [p, d] = [ps.value, ds.value];
          const relayCpuSec = relayCpuSince(before);
          const steal = stealPercent(machine, readMachineTicks());
          record('pack', p, relayCpuSec, steal);
          record('plain', d, relayCpuSec, steal);
          continue;
        }
        const order: Row['tool'][] = rep % 2 === 1 ? ['pack', 'plain'] : ['plain', 'pack'];
        for (const tool of order) {
          const before = cpuSeconds(relay.pid);
          const machine = readMachineTicks();
          const r =
            tool === 'pack'
              ? await pack(relay.target, relay.apiKey, rate, seconds, mkdtempSync(path.join(work, 'pack-')))
              : await plain(
                  relay.target,
                  relay.apiKey,
                  rate,
                  seconds,
                  path.join(mkdtempSync(path.join(work, 'plain-')), 'progress.jsonl'),
                );
          record(tool, r, relayCpuSince(before), stealPercent(machine, readMachineTicks()));
        }
      }
    }
  } finally {
    await relay.stop();
  }
  writeFileSync(a.out, JSON.stringify(rows, null, 1));
  const cell = (s: LatencySummary | null | undefined) => (s ? `${s.p50} / ${s.p95} / ${s.p99}` : '-');
  console.log(
    '| msg/s in | rep | tool | from intended: p50 / p95 / p99 ms | p95 after the first second, ms | from send: p50 / p95 / p99 ms | send lag p99 ms | delivered | load avg (1 min) | steal % | relay / tool CPU s | hottest tool thread: cores / run-queue wait ms per s | pack p95 / plain p95 |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const other = rows.find((o) => o.rate === r.rate && o.rep === r.rep && o.tool === 'plain');
    const ratio =
      r.tool === 'pack' && r.intended && other?.intended
        ? (r.intended.p95 / other.intended.p95).toFixed(2)
        : '';
    console.log(
      `| ${r.rate} | ${r.rep} | ${r.tool} | ${cell(r.intended)} | ${r.p95AfterFirstSecondMs ?? '-'} | ${cell(r.sent)} | ${r.sendLag?.p99 ?? '-'} | ${r.delivered ?? '-'} | ${r.loadavg1} | ${r.stealPct ?? '-'} | ${r.relayCpuSec ?? '-'} / ${r.toolCpuSec ?? '-'} | ${r.hotThreadCores ?? '-'} / ${r.hotThreadWaitMsPerSec ?? '-'} | ${ratio} |`,
    );
  }
  // Per rate over its reps: one pair can land either side of 1.5x as the machine's speed drifts.
  console.log(
    '\n| msg/s in | pack p95 median ms | driver p95 median ms | ratio of medians | pairs within 1.5x |',
  );
  console.log('|---|---|---|---|---|');
  for (const v of verdictsByRate(rows)) {
    console.log(
      `| ${v.rate} | ${v.packP95Median} | ${v.plainP95Median} | ${v.ratioOfMedians.toFixed(2)} | ${v.pairsWithin} of ${v.pairs} |`,
    );
  }
  console.log(
    `\n${a.paired ? 'paired: pack and driver at the same time, each on half of the endpoints at half the rate; ' : ''}pack generators: ${GENERATORS}${GENERATORS === 'auto' ? ' (each pack row names its count)' : ''}; driver schedule: ${a.driverSchedule}; ${a.pin ? `relay on CPU ${RELAY_CPU}, tools on CPU ${TOOL_CPU}` : 'not pinned'}; figures: ${a.out}`,
  );
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
