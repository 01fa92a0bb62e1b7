/**
 * Once-a-second CPU and RSS of a process from /proc (Linux), without a
 * dependency: CPU % is of one core (100 = one core busy), like `top`.
 * Threads are included, which matters for Artillery's worker thread.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcSample {
  /** epoch ms */
  t: number;
  cpuPct: number;
  rssMb: number;
}

function sysconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

/** Clock ticks per second: the unit of utime and stime in /proc/<pid>/stat. */
export const CLOCK_TICKS = sysconf('CLK_TCK', 100);
const PAGE_BYTES = sysconf('PAGESIZE', 4096);

/**
 * utime+stime in ticks and rss in pages of a process, or of one of its threads with `tid`
 * (/proc/<pid>/task/<tid>/stat); null once it is gone.
 */
export function readProcStat(pid: number, tid?: number): { ticks: number; rssPages: number } | null {
  let text: string;
  try {
    text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces; fields are counted after its closing ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const rssPages = Number(rest[21]);
  return { ticks: utime + stime, rssPages };
}

/**
 * The machine's CPU time so far, in clock ticks summed over all CPUs, from the `cpu` line of
 * /proc/stat (user nice system idle iowait irq softirq steal ...): all of it, and `steal`, the
 * time the hypervisor ran something else while this VM's CPUs wanted to run. Null when the text
 * has no such line (not Linux, or a kernel without the steal field).
 */
export function readMachineTicks(
  text: string | (() => string) = () => readFileSync('/proc/stat', 'utf8'),
): { total: number; steal: number } | null {
  let body: string;
  try {
    body = typeof text === 'string' ? text : text();
  } catch {
    return null;
  }
  const line = /^cpu +([\d ]+)$/m.exec(body);
  if (!line) return null;
  const fields = line[1].trim().split(/\s+/).map(Number);
  if (fields.length < 8) return null;
  // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
  const total = fields.slice(0, 8).reduce((sum, n) => sum + n, 0);
  return { total, steal: fields[7] };
}

/**
 * Steal between two readMachineTicks readings, % of all CPU time in between, idle included
 * (0-100, 1 decimal). Null when either reading is missing, no time passed or the counter went
 * back (CPU hotplug). Idle time is in the denominator, so the same contention from the host
 * shows as more steal in a busier interval: it says how much the host took while the interval
 * ran, not how many cores a tool had (a fully busy 2-core VM at 20 % had 1.6).
 */
export function stealPercent(
  before: { total: number; steal: number } | null,
  after: { total: number; steal: number } | null,
): number | null {
  if (!before || !after || after.total <= before.total || after.steal < before.steal) return null;
  return Math.round(((after.steal - before.steal) / (after.total - before.total)) * 1000) / 10;
}

export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private last: { t: number; ticks: number } | undefined;

  constructor(readonly pid: number) {}

  /** Takes one sample; returns it (or undefined on the first call, which only sets the baseline). */
  sample(): ProcSample | undefined {
    const stat = readProcStat(this.pid);
    if (!stat) return undefined;
    const t = Date.now();
    const prev = this.last;
    this.last = { t, ticks: stat.ticks };
    if (!prev || t <= prev.t) return undefined;
    const cpuPct = ((stat.ticks - prev.ticks) / CLOCK_TICKS / ((t - prev.t) / 1000)) * 100;
    const s = {
      t,
      cpuPct: Math.round(cpuPct * 10) / 10,
      rssMb: Math.round((stat.rssPages * PAGE_BYTES) / 1048576),
    };
    this.samples.push(s);
    return s;
  }
}

/**
 * Several processes sampled on the same ticks (the relay processes of a `--cluster` run):
 * each member keeps its own samples, and `samples` holds their sum per tick (CPU % of one core
 * added up, RSS MB added up), so one process reads exactly like a ProcSampler of it.
 */
export class GroupSampler {
  readonly members: ProcSampler[];
  readonly samples: ProcSample[] = [];

  constructor(pids: readonly number[]) {
    this.members = pids.map((pid) => new ProcSampler(pid));
  }

  /** Samples every member; returns the sum, or undefined when no member gave a sample (first call, or all gone). */
  sample(): ProcSample | undefined {
    const taken = this.members.map((m) => m.sample()).filter((x): x is ProcSample => x !== undefined);
    if (taken.length === 0) return undefined;
    const s = {
      t: Math.max(...taken.map((x) => x.t)),
      cpuPct: Math.round(taken.reduce((a, x) => a + x.cpuPct, 0) * 10) / 10,
      rssMb: taken.reduce((a, x) => a + x.rssMb, 0),
    };
    this.samples.push(s);
    return s;
  }
}

export interface ResourceSummary {
  cpuPeakPct: number;
  cpuMeanPct: number;
  rssPeakMb: number;
  rssMeanMb: number;
  samples: number;
}

export function summarize(samples: readonly ProcSample[]): ResourceSummary | null {
  if (samples.length === 0) return null;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cpu = samples.map((s) => s.cpuPct);
  const rss = samples.map((s) => s.rssMb);
  return {
    cpuPeakPct: Math.max(...cpu),
    cpuMeanPct: Math.round(mean(cpu) * 10) / 10,
    rssPeakMb: Math.max(...rss),
    rssMeanMb: Math.round(mean(rss)),
    samples: samples.length,
  };
}
