/**
 * scripts/plain-ws-driver.ts --progress-file: one line a second with that second's latency
 * histogram, in the fields of the pack's progress lines, so scripts/per-second-latency.ts reads
 * either tool's run. Against the reference relay, as a user runs it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { perSecondLatency } from '../../scripts/per-second-latency';
import { REPO_ROOT } from '../paths';
import { useReferenceRelay } from './helpers/reference-relay';

jest.setTimeout(90_000);

const reference = useReferenceRelay('driver-progress-');

test('writes a line a second, into an emptied file, whose histograms hold every delivery of the report, once', () => {
  const progress = path.join(reference.work(), 'progress.jsonl');
  const json = path.join(reference.work(), 'out.json');
  // an earlier run's lines: the driver starts the file afresh
  writeFileSync(progress, `${JSON.stringify({ t: 1, delivered: 5, latencyHdr: 'earlier run' })}\n`);
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/plain-ws-driver.ts',
      `--target=${reference.relay().target}`,
      `--json=${json}`,
      `--progress-file=${progress}`,
      '--rate=200',
      '--seconds=2.5',
      '--endpoints=1',
      '--connections=3',
      '--settle-ms=0',
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  expect([r.status, r.stderr]).toEqual([0, expect.any(String)]);
  const report = JSON.parse(readFileSync(json, 'utf8')) as {
    sent: number;
    delivered: number;
    latencyFromIntendedMs: { count: number; max: number };
  };
  // about 200 msg/s for 2.5 s (each connection's random phase may drop its last frame), each
  // frame to the 2 other connections
  expect(report.sent).toBeGreaterThanOrEqual(495);
  expect(report.delivered).toBe(report.sent * 2);
  const delivered = report.delivered;
  const lines = readFileSync(progress, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { t: number; delivered: number; latencyHdr: string });
  expect(lines.length).toBeGreaterThanOrEqual(2);
  for (const l of lines)
    expect(l).toEqual({
      t: expect.any(Number),
      delivered: expect.any(Number),
      latencyHdr: expect.any(String),
    });
  expect(lines.reduce((s, l) => s + l.delivered, 0)).toBe(delivered);
  const perSecond = perSecondLatency(readFileSync(progress, 'utf8'));
  expect(perSecond.all!.count).toBe(delivered);
  // the report's histogram is the seconds' sum: nothing recorded outside a closed second
  expect(report.latencyFromIntendedMs.count).toBe(delivered);
  // the same values: equal to HDR's resolution (3 significant digits; a decoded histogram may
  // report the top of the largest value's bucket)
  const max = report.latencyFromIntendedMs.max;
  expect(Math.abs(perSecond.all!.max - max)).toBeLessThanOrEqual(max * 0.001 + 0.001);
});
