import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeHistogram, newHistogram, recordMs } from '../../processors/lib/latency';
import { perSecondLatency } from '../../scripts/per-second-latency';

/** A progress line at `t` whose deliveries had the latencies `ms` (as the pack and the driver write them). */
function line(t: number, ms: number[], extra: Record<string, unknown> = {}): string {
  const h = newHistogram();
  for (const x of ms) recordMs(h, x);
  return JSON.stringify({ t, delivered: ms.length, latencyHdr: encodeHistogram(h), ...extra });
}

const fill = (n: number, ms: number) => Array.from({ length: n }, () => ms);

describe('perSecondLatency', () => {
  it("sets the window's first second apart: a cold first second decides a short run p95 and not the rest", () => {
    // The window opened late in the first line's second: 30 deliveries at 80 ms there, 120 more at
    // 80 ms in the next line, then 18 seconds of 100 at 3 ms. The cold 150 are 7.3 % of the run.
    const t0 = 1_800_000_000_000;
    const text = [
      line(t0, fill(30, 80)),
      line(t0 + 1000, fill(120, 80)),
      ...Array.from({ length: 18 }, (_, i) => line(t0 + (i + 2) * 1000, fill(100, 3))),
    ].join('\n');
    const r = perSecondLatency(text);
    expect(r.seconds.map((s) => s.offsetS)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(r.all!.count).toBe(1950);
    expect(r.afterFirstSecond!.count).toBe(1800);
    expect(r.seconds[0].latency.p95).toBeCloseTo(80, 0);
    expect(r.all!.p95).toBeCloseTo(80, 0);
    expect(r.afterFirstSecond!.p95).toBeCloseTo(3, 1);
    expect(r.afterFirstSecond!.max).toBeCloseTo(3, 1);
  });

  it('merges the lines of several threads that close the same second a little apart, and skips lines without latency', () => {
    const t0 = 1_800_000_000_000;
    const text = [
      JSON.stringify({ t: t0 - 5000, vus: 10, sent: 0, delivered: 0 }), // the connect phase: no latencyHdr
      line(t0, fill(10, 1), { thread: 1 }),
      line(t0 + 300, fill(30, 5), { thread: 2 }),
      line(t0 + 1000, fill(10, 2), { thread: 1 }),
      line(t0 + 1400, fill(10, 9), { thread: 2 }),
      '',
    ].join('\n');
    const r = perSecondLatency(text);
    expect(r.seconds.map((s) => [s.offsetS, s.latency.count])).toEqual([
      [0, 40],
      [1, 20],
    ]);
    expect(r.seconds[1].latency.max).toBeCloseTo(9, 1);
  });

  it('names the line that is not JSON or whose histogram does not decode', () => {
    expect(() => perSecondLatency(`${line(1, [1])}\n{"t": 2, "latencyHdr"`)).toThrow('line 2: not JSON');
    expect(() => perSecondLatency(JSON.stringify({ t: 5, latencyHdr: 'not base64 hdr' }))).toThrow(
      /line 1: latencyHdr does not decode/,
    );
  });

  it('a file without latency lines has no figures', () => {
    const r = perSecondLatency(`${JSON.stringify({ t: 1, vus: 3 })}\n`);
    expect(r).toEqual({ seconds: [], all: null, afterFirstSecond: null });
  });
});

describe('scripts/per-second-latency.ts', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'relay-per-second-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/per-second-latency.ts', ...args], {
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
    });

  it('prints each second and the summary line', () => {
    const file = path.join(dir, 'progress.jsonl');
    writeFileSync(
      file,
      [line(1000, fill(20, 40)), line(2000, fill(20, 30)), line(3000, fill(20, 3))].join('\n'),
    );
    const r = script(file, '--over-ms', '10');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\+0 \| 20 \| 40\.\d+ \//m);
    expect(r.stdout).toMatch(/seconds with p95 over 10 ms: 2 \(\+0, \+1\)/);
    expect(r.stdout).toMatch(/after the window's first second 3\.\d+ ms/);
  });

  it('exits 1 naming the file when it has no latency lines or a bad line, 2 on a bad argument', () => {
    const empty = path.join(dir, 'empty.jsonl');
    writeFileSync(empty, '{"t":1}\n');
    const r1 = script(empty);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toContain(`${empty}: no latency lines`);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, 'nope\n');
    const r2 = script(bad);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('line 1: not JSON');
    const negative = script(empty, '--over-ms=-1');
    expect(negative.status).toBe(2);
    expect(negative.stderr).toContain('--over-ms');
    expect(script().status).toBe(2);
  });
});
