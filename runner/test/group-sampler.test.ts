import { spawn } from 'node:child_process';
import { GroupSampler, ProcSampler } from '../proc-sampler';

describe('GroupSampler', () => {
  it('samples every process on the same tick and sums CPU and RSS; one pid reads like a ProcSampler', async () => {
    // A busy child and this (mostly idle) process: the sum must include the busy one.
    const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 5000; while (Date.now() < end);']);
    try {
      const group = new GroupSampler([process.pid, busy.pid!]);
      const single = new ProcSampler(busy.pid!);
      expect(group.sample()).toBeUndefined(); // baseline only
      single.sample();
      await new Promise((r) => setTimeout(r, 600));
      const sum = group.sample()!;
      const own = single.sample()!;
      const [a, b] = group.members.map((m) => m.samples[0]);
      expect(sum.cpuPct).toBeCloseTo(a.cpuPct + b.cpuPct, 1);
      expect(sum.rssMb).toBe(a.rssMb + b.rssMb);
      expect(b.cpuPct).toBeGreaterThan(0);
      expect(sum.cpuPct).toBeGreaterThanOrEqual(b.cpuPct);
      expect(own.rssMb).toBeGreaterThan(0);
      expect(group.samples).toEqual([sum]);
    } finally {
      busy.kill('SIGKILL');
    }
  });

  it('a member that is gone drops out of the sum; all gone gives no sample', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    const group = new GroupSampler([child.pid!]);
    group.sample();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 50));
    expect(group.sample()).toBeUndefined();
  });
});
