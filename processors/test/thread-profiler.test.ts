import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { ThreadProfiler } from '../lib/thread-profiler';

/** Waits (up to 10 s) for the inspector's asynchronous stop callback to write `file`. */
async function waitForFile(file: string): Promise<void> {
  for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
}

describe('ThreadProfiler (CPU profile of the generator thread)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'thread-prof-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const expectedFile = () => path.join(dir, `generator-${process.pid}-${threadId}.cpuprofile`);

  it('writes a V8 CPU profile named for the process and thread, and profiles again after a restart', async () => {
    const profiler = new ThreadProfiler(dir);
    profiler.start();
    profiler.start(); // a second VU in the same thread: still one profile
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    profiler.stop();
    await waitForFile(expectedFile());
    expect(readdirSync(dir)).toEqual([path.basename(expectedFile())]);
    const profile = JSON.parse(readFileSync(expectedFile(), 'utf8')) as {
      nodes: unknown[];
      startTime: number;
      endTime: number;
    };
    expect(profile.nodes.length).toBeGreaterThan(0);
    expect(profile.endTime).toBeGreaterThanOrEqual(profile.startTime);

    rmSync(expectedFile());
    profiler.stop(); // nothing running: nothing written
    profiler.start();
    profiler.stop();
    await waitForFile(expectedFile());
    expect(existsSync(expectedFile())).toBe(true);
  });

  it('does nothing without a directory (RELAY_PERF_GENERATOR_PROF_DIR unset)', async () => {
    const saved = process.env.RELAY_PERF_GENERATOR_PROF_DIR;
    delete process.env.RELAY_PERF_GENERATOR_PROF_DIR;
    try {
      const profiler = new ThreadProfiler();
      profiler.start();
      profiler.stop();
    } finally {
      if (saved !== undefined) process.env.RELAY_PERF_GENERATOR_PROF_DIR = saved;
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(path.join(process.cwd(), `generator-${process.pid}-${threadId}.cpuprofile`))).toBe(
      false,
    );
  });

  it('takes the directory from RELAY_PERF_GENERATOR_PROF_DIR by default', async () => {
    const saved = process.env.RELAY_PERF_GENERATOR_PROF_DIR;
    process.env.RELAY_PERF_GENERATOR_PROF_DIR = dir;
    try {
      const profiler = new ThreadProfiler();
      profiler.start();
      profiler.stop();
    } finally {
      if (saved === undefined) delete process.env.RELAY_PERF_GENERATOR_PROF_DIR;
      else process.env.RELAY_PERF_GENERATOR_PROF_DIR = saved;
    }
    await waitForFile(expectedFile());
    expect(existsSync(expectedFile())).toBe(true);
  });
});
