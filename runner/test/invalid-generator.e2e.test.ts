/**
 * End to end: a load generator that cannot keep its schedule makes the scenario INVALID (neither
 * pass nor fail) and the run exit 3. The stall is artificial and test-only: a preload
 * (helpers/stall-generator.cjs) blocks Artillery's worker thread for 300 ms every second, as a
 * generator starved of CPU would be. Also checks that --rate/--hold reached the scenario and
 * that summary.json says valid: false. Takes about 30 s (relay from source, no build).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunFile } from '../report/load';
import type { RunSummary } from '../summary-json';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = mkdtempSync(path.join(tmpdir(), 'relay-perf-invalid-'));
const STALL = path.join(__dirname, 'helpers', 'stall-generator.cjs');
const STALL_MS = 300;

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runner/cli.ts', '--out', OUT, ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        FORCE_COLOR: '0',
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${STALL}`.trim(),
        RELAY_PERF_TEST_STALL_MS: String(STALL_MS),
      },
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('a stalled load generator', () => {
  it('makes the scenario INVALID, with the reason in the table, and the run exit 3', async () => {
    const { code, output } = await runCli([
      '--profile',
      'smoke',
      '--only',
      'throughput-100',
      '--rate',
      '200',
      '--hold',
      '6',
      '--relay-entry',
      'backend/src/main.ts',
      '--run-id',
      'stalled',
    ]);
    const dir = path.join(OUT, 'stalled');
    const run = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunFile & {
      exitCode: number;
    };
    const [s] = run.scenarios;
    // The stall is what the generator check saw: the worst stall is at least the injected one.
    expect(s.generatorStallMaxMs).toBeGreaterThanOrEqual(STALL_MS - 10);
    expect(s.status).toBe('invalid');
    expect(s.invalidReasons).toEqual(
      expect.arrayContaining([expect.stringMatching(/event loop stalled \d+ ms/)]),
    );
    // The relay itself delivered everything: INVALID is about the generator, not a relay failure.
    expect(s.frames.lost).toBe(0);
    expect(run.passed).toBe(false);
    expect(run.exitCode).toBe(3);

    expect(output).toMatch(/throughput-100 \| INVALID .*INVALID: generator event loop stalled/);
    expect(output).toContain('RESULT: INVALID');
    expect(code).toBe(3);

    // --rate and --hold reached the plan and the generator.
    expect(s.plan).toMatchObject({ targetRatePerSec: 200, sendSeconds: 6 });
    // Each of the 500 connections owes its share of 1,200 frames with a random phase: +-1 each at the window's edges.
    expect(Math.abs(s.frames.due - 200 * 6)).toBeLessThanOrEqual(500);

    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.runId).toBe('stalled');
    expect(summary.passes).toHaveLength(1);
    expect(summary.passes[0]).toMatchObject({ statsMode: 'batched', database: 'sqlite' });
    expect(summary.passes[0].scenarios[0]).toMatchObject({
      name: 'throughput-100',
      msgPerSecTarget: 200,
      lost: 0,
      valid: false,
      pass: false,
    });
  }, 180_000);
});
