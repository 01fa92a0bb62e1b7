/**
 * End to end: `pnpm test:performance --profile smoke` builds and starts the real
 * relay, runs the smoke scenarios through Artillery and must pass; the same
 * runner with an impossible gate must fail. Takes about a minute and a half.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunFile } from '../report/load';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = mkdtempSync(path.join(tmpdir(), 'relay-perf-e2e-'));
// Normally the built relay (dist/); PERF_E2E_RELAY_ENTRY=backend/src/main.ts runs it from source instead.
const RELAY_ENTRY = process.env.PERF_E2E_RELAY_ENTRY
  ? ['--relay-entry', process.env.PERF_E2E_RELAY_ENTRY]
  : [];

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'runner/cli.ts', '--out', OUT, ...RELAY_ENTRY, ...args],
      {
        cwd: ROOT,
        env: { ...process.env, FORCE_COLOR: '0' },
      },
    );
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

interface ArtilleryJson {
  aggregate: {
    counters: Record<string, number>;
    summaries: Record<string, { count: number; p95: number; p99: number }>;
  };
}

describe('pnpm test:performance (smoke profile, real relay)', () => {
  it('passes every gate and leaves plausible numbers and both reports', async () => {
    const { code, output } = await runCli(['--profile', 'smoke', '--run-id', 'smoke']);
    expect(output).toMatch(/RESULT: PASS/);
    expect(code).toBe(0);

    const dir = path.join(OUT, 'smoke');
    const run = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunFile;
    expect(run.passed).toBe(true);
    expect(run.meta.dbProvider).toBe('sqlite');
    expect(run.scenarios.map((s) => s.name)).toEqual([
      'single-endpoint-10',
      'multi-endpoint-10x5',
      'throughput-100',
    ]);
    for (const s of run.scenarios) {
      const raw = JSON.parse(readFileSync(path.join(dir, `${s.name}.json`), 'utf8')) as ArtilleryJson;
      const c = raw.aggregate.counters;
      const latency = raw.aggregate.summaries['e2e.latency_ms'];
      // Every connection sends plan-rate x window; each frame is owed to every other peer of its endpoint.
      const expectedSent = s.plan.targetRatePerSec * s.plan.sendSeconds;
      expect(c['e2e.frames_sent']).toBeGreaterThanOrEqual(Math.floor(expectedSent * 0.95));
      expect(c['e2e.frames_sent']).toBeLessThanOrEqual(Math.ceil(expectedSent) + s.plan.connections);
      // A frame is owed to the peers connected when it was sent; on a busy machine a peer may
      // still be connecting as the first frames leave, so the owed count can be a little short.
      const allPeers = c['e2e.frames_sent'] * (s.plan.connectionsPerEndpoint - 1);
      expect(c['e2e.frames_expected']).toBeLessThanOrEqual(allPeers);
      expect(c['e2e.frames_expected']).toBeGreaterThanOrEqual(Math.floor(allPeers * 0.99));
      expect(c['e2e.frames_delivered']).toBe(c['e2e.frames_expected']);
      expect(c['e2e.frames_lost']).toBe(0);
      expect(c['vusers.failed']).toBe(0);
      // One latency sample per N deliveries, thread-wide.
      expect(latency.count).toBe(Math.floor(c['e2e.frames_delivered'] / s.plan.latencySampleEvery));
      expect(latency.p95).toBeGreaterThan(0);
      expect(latency.p95).toBeLessThan(100);
      expect(s.relay?.samples).toBeGreaterThan(3);
    }
    expect(existsSync(path.join(dir, 'report.md'))).toBe(true);
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toContain('uPlot');
  }, 240_000);

  it('exits non-zero when a gate cannot be met (p95 < 0.001 ms)', async () => {
    const { code, output } = await runCli([
      '--profile',
      'smoke',
      '--only',
      'single-endpoint-10',
      '--gate-p95',
      '0.001',
      '--no-build',
      '--run-id',
      'impossible',
    ]);
    expect(output).toMatch(/RESULT: FAIL/);
    expect(code).toBe(1);
    const run = JSON.parse(readFileSync(path.join(OUT, 'impossible', 'run.json'), 'utf8')) as RunFile;
    expect(run.scenarios[0].gates).toContainEqual({
      expression: 'e2e.latency_ms.p95 < 0.001',
      passed: false,
      strict: true,
    });
    expect(run.scenarios[0].frames.lost).toBe(0);
  }, 120_000);
});
