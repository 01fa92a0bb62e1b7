/**
 * The latency files' edges: what mergeLatencyDir reads and refuses, where a run's
 * directory comes from, and the `after` hook's printout and clean-up.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  encodeHistogram,
  latencyDirForRun,
  mergeLatencyDir,
  newHistogram,
  newLatencySet,
  printAndCleanLatencyDir,
  recordMs,
  summarize,
  writeLatencyFile,
} from '../lib/latency';

describe('latency files', () => {
  let dir: string;
  const savedHdrDir = process.env.RELAY_PERF_HDR_DIR;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'latency-files-'));
    delete process.env.RELAY_PERF_HDR_DIR;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    if (savedHdrDir === undefined) delete process.env.RELAY_PERF_HDR_DIR;
    else process.env.RELAY_PERF_HDR_DIR = savedHdrDir;
    rmSync(dir, { recursive: true, force: true });
  });

  const setWith = (intended: number[], sent: number[], sendLag: number[]) => {
    const set = newLatencySet();
    intended.forEach((v) => recordMs(set.intended, v));
    sent.forEach((v) => recordMs(set.sent, v));
    sendLag.forEach((v) => recordMs(set.sendLag, v));
    return set;
  };

  it('summarize reports the mean in ms', () => {
    const h = newHistogram();
    [1, 2, 6].forEach((v) => recordMs(h, v));
    expect(summarize(h)!.mean).toBeCloseTo(3, 2);
  });

  describe('mergeLatencyDir', () => {
    it('returns null for a directory without histogram files, ignoring other files', () => {
      expect(mergeLatencyDir(dir)).toBeNull();
      writeFileSync(path.join(dir, 'notes.txt'), 'not a histogram');
      expect(mergeLatencyDir(dir)).toBeNull();
    });

    it('merges only *.hdr.json files', () => {
      writeLatencyFile(dir, 't1', setWith([5], [4], [1]));
      writeFileSync(path.join(dir, 'progress.jsonl'), '{"not":"ours"}\n');
      const merged = mergeLatencyDir(dir)!;
      expect(merged.files).toBe(1);
      expect(merged.set.intended.totalCount).toBe(1);
    });

    it('refuses a file that lacks one of the three histograms, naming the file and the kind', () => {
      const h = newHistogram();
      recordMs(h, 1);
      writeFileSync(
        path.join(dir, 't9.hdr.json'),
        JSON.stringify({ intended: encodeHistogram(h), sendLag: encodeHistogram(h) }),
      );
      expect(() => mergeLatencyDir(dir)).toThrow('t9.hdr.json: no "sent" histogram');
    });
  });

  describe('latencyDirForRun', () => {
    it('is RELAY_PERF_HDR_DIR when the runner sets it', () => {
      process.env.RELAY_PERF_HDR_DIR = dir;
      expect(latencyDirForRun()).toBe(dir);
    });

    it('is a fresh temporary directory for a hand run', () => {
      const a = latencyDirForRun();
      const b = latencyDirForRun();
      try {
        expect(a).not.toBe(b);
        expect(path.dirname(a)).toBe(tmpdir());
        expect(path.basename(a)).toMatch(/^relay-perf-latency-.+/);
        expect(existsSync(a)).toBe(true);
      } finally {
        rmSync(a, { recursive: true, force: true });
        rmSync(b, { recursive: true, force: true });
      }
    });
  });

  describe('printAndCleanLatencyDir (the after hook of a hand run)', () => {
    const capture = () => {
      const out: string[] = [];
      const err: string[] = [];
      jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
      jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
      return { out, err };
    };

    it('prints the merged percentiles of the three latencies, then removes the temporary directory', () => {
      // below 2.048 ms HDR's 3 significant digits are exact, so the printed figures are the values themselves
      writeLatencyFile(dir, 'a', setWith([0.2, 0.4], [0.1], []));
      writeLatencyFile(dir, 'b', setWith([0.6], [0.3], []));
      const { out, err } = capture();
      printAndCleanLatencyDir(dir);
      expect(err).toEqual([]);
      expect(out).toEqual([
        'Exact latency, every delivery, merged from 2 generator thread(s):',
        '  from intended send time (gated): p50 0.4 p95 0.6 p99 0.6 p99.9 0.6 max 0.6 ms (3 values)',
        '  from actual send: p50 0.1 p95 0.3 p99 0.3 p99.9 0.3 max 0.3 ms (2 values)',
        '  send lag: none',
      ]);
      expect(existsSync(dir)).toBe(false);
    });

    it('against several relay processes, also prints the same-process and across-Redis latencies', () => {
      const set = setWith([0.2, 0.6], [0.1, 0.3], []);
      recordMs(set.local, 0.2);
      recordMs(set.cross, 0.6);
      writeLatencyFile(dir, 'a', set);
      const { out } = capture();
      printAndCleanLatencyDir(dir);
      expect(out.slice(-2)).toEqual([
        '  same relay process as the sender: p50 0.2 p95 0.2 p99 0.2 p99.9 0.2 max 0.2 ms (1 values)',
        '  across Redis from another process: p50 0.6 p95 0.6 p99 0.6 p99.9 0.6 max 0.6 ms (1 values)',
      ]);
      expect(out).toHaveLength(6);
    });

    it('a directory that is already gone: says nothing was recorded, never throws', () => {
      rmSync(dir, { recursive: true, force: true });
      const { out, err } = capture();
      expect(() => printAndCleanLatencyDir(dir)).not.toThrow();
      expect([out, err]).toEqual([['latency: no deliveries recorded'], []]);
    });

    it('says so when nothing was recorded', () => {
      const { out } = capture();
      printAndCleanLatencyDir(dir);
      expect(out).toEqual(['latency: no deliveries recorded']);
      expect(existsSync(dir)).toBe(false);
    });

    it('leaves the runner’s directory (RELAY_PERF_HDR_DIR) for the runner to merge', () => {
      process.env.RELAY_PERF_HDR_DIR = dir;
      writeLatencyFile(dir, 'a', setWith([1], [1], [1]));
      capture();
      printAndCleanLatencyDir(dir);
      expect(readdirSync(dir)).toEqual(['a.hdr.json']);
    });

    it('turns a corrupt file into a warning, never an exception, and still cleans up', () => {
      writeFileSync(path.join(dir, 'bad.hdr.json'), '{"intended":');
      const { out, err } = capture();
      expect(() => printAndCleanLatencyDir(dir)).not.toThrow();
      expect(out).toEqual([]);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(new RegExp(`^warning: could not merge latency histograms in ${dir}: .+`));
      expect(existsSync(dir)).toBe(false);
    });

    it('ignores a missing directory variable (the before hook did not run)', () => {
      const { out, err } = capture();
      printAndCleanLatencyDir(undefined);
      printAndCleanLatencyDir(42);
      expect(out).toEqual([]);
      expect(err).toEqual([]);
    });
  });
});
