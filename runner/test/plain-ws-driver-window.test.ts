/**
 * scripts/plain-ws-driver.ts in a shared send window (--window-dir, used by
 * scripts/compare-pack-plain.ts --paired): the driver publishes its start as one party of the
 * generators' barrier (processors/lib/window-barrier.ts) and sends from the start all parties
 * agreed on, not from its own. Against the reference relay, as a user runs it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeWindowBarrier } from '../../processors/lib/window-barrier';
import { REPO_ROOT } from '../paths';
import { useReferenceRelay } from './helpers/reference-relay';

jest.setTimeout(90_000);

const reference = useReferenceRelay('driver-window-');

/** Runs the driver to its end; resolves with its exit code, output and JSON report. */
function driver(
  args: string[],
): Promise<{ code: number | null; out: string; report: Record<string, unknown> }> {
  const json = path.join(mkdtempSync(path.join(reference.work(), 'run-')), 'out.json');
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/plain-ws-driver.ts',
        `--target=${reference.relay().target}`,
        `--json=${json}`,
        ...args,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      let report: Record<string, unknown> = {};
      try {
        report = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
      } catch {
        // no report: the assertions on code and out say why
      }
      resolve({ code, out, report });
    });
  });
}

const SMALL = ['--rate=100', '--seconds=1', '--endpoints=1', '--connections=2', '--settle-ms=0'];

test('waits for the other party and sends from the latest start any party proposed', async () => {
  const dir = path.join(reference.work(), 'window');
  // Party 0 (a pack process, here the test) proposes a start well after the driver can be ready.
  const proposed = Date.now() + 12_000;
  const agreed = makeWindowBarrier(dir, 0, 2, 60_000)(proposed);
  const r = await driver([...SMALL, `--window-dir=${dir}`, '--window-index=1', '--window-parties=2']);
  expect([r.code, r.out]).toEqual([0, expect.any(String)]);
  expect(await agreed).toBe(proposed);
  expect(r.report.windowStartMs).toBe(proposed);
  // it really waited: its last frames (due 0.98-1 s into the window) cannot have left before
  expect(Date.now()).toBeGreaterThanOrEqual(proposed + 900);
  // 100 msg/s for 1 s, each frame to the one other connection: all of it, none early
  expect([r.report.sent, r.report.delivered, r.report.foreign]).toEqual([100, 100, 0]);
});

test('without a window it starts on its own, at once', async () => {
  const before = Date.now();
  const r = await driver(SMALL);
  expect(r.code).toBe(0);
  const start = r.report.windowStartMs as number;
  expect(start).toBeGreaterThanOrEqual(before);
  // tsx start-up, one endpoint over REST and two sockets: seconds, not the 12 s of a window wait
  expect(start - before).toBeLessThan(10_000);
  expect(r.report.delivered).toBe(100);
});
