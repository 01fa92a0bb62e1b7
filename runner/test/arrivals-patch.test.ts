/**
 * Artillery's arrival processes (the `arrivals` package, patched by patches/arrivals@2.1.2.patch).
 * Unpatched, nanotimer busy-waited through every arrival interval up to 25 ms, so a generator
 * thread sat at 100 % of a core for a whole connect phase. These tests pin what the patch keeps
 * (exact counts, the mean rate) and what it removes (the busy wait).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { EventEmitter } from 'node:events';

// `arrivals` is Artillery's dependency, not ours: resolve it from Artillery's own directory.
const fromArtillery = createRequire(require.resolve('artillery/package.json'));
const fromCore = createRequire(path.join(path.dirname(fromArtillery.resolve('arrivals')), 'x.js'));
const arrivals = fromCore('arrivals') as {
  uniform: {
    process(intervalMs: number, durationMs: number): EventEmitter & { start(): void; stop(): void };
  };
  poisson: { process(meanMs: number, durationMs: number): EventEmitter & { start(): void; stop(): void } };
};

function run(p: EventEmitter & { start(): void }): Promise<{ count: number; wallMs: number; cpuMs: number }> {
  return new Promise((resolve) => {
    let count = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    p.on('arrival', () => count++);
    p.once('finished', () => {
      const cpu = process.cpuUsage(cpu0);
      resolve({ count, wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 });
    });
    p.start();
  });
}

describe('arrivals (patched)', () => {
  test('is the patched copy', () => {
    expect(String(fromCore.resolve('arrivals'))).toContain('patch_hash=');
  });

  test('uniform: exactly duration / interval arrivals at 20 ms spacing, without a busy wait', async () => {
    const r = await run(arrivals.uniform.process(20, 1000));
    expect(r.count).toBe(50);
    expect(r.wallMs).toBeGreaterThanOrEqual(990);
    // A busy wait costs the whole wall time in CPU; timers cost a few per cent. Load on the
    // machine can only lower this process's CPU, so the bound cannot fail from contention.
    expect(r.cpuMs).toBeLessThan(0.5 * r.wallMs);
  });

  test('uniform: sub-millisecond spacing keeps its count (several arrivals per timer tick)', async () => {
    const r = await run(arrivals.uniform.process(0.25, 500));
    expect(r.count).toBe(2000);
  });

  test('uniform: stop() ends it at once, with no arrival after it', async () => {
    const p = arrivals.uniform.process(10, 10_000);
    let count = 0;
    p.on('arrival', () => {
      if (++count === 5) p.stop();
    });
    const finished = new Promise((resolve) => p.once('finished', resolve));
    p.start();
    await finished;
    await new Promise((r) => setTimeout(r, 100));
    expect(count).toBe(5);
  });

  test('poisson: keeps its mean rate with gaps shorter than a timer tick', async () => {
    const r = await run(arrivals.poisson.process(0.5, 1000));
    // Poisson count over 1 s at mean 0.5 ms: 2000 +- 45 (one sd); 10 sd either side.
    expect(r.count).toBeGreaterThan(1550);
    expect(r.count).toBeLessThan(2450);
    expect(r.wallMs).toBeGreaterThanOrEqual(990);
  });
});
