import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { agreedStart, makeWindowBarrier, readCandidates } from '../lib/window-barrier';

describe('send window barrier of a --generators run', () => {
  it('agrees on the latest candidate once every generator has published', () => {
    expect(agreedStart(new Map([[0, 1000]]), 2)).toBeNull();
    expect(
      agreedStart(
        new Map([
          [0, 1000],
          [1, 1700],
          [2, 1200],
        ]),
        3,
      ),
    ).toBe(1700);
  });

  it('two processes (here: two barriers on one directory) resolve to the same, later start', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'barrier-'));
    const g0 = makeWindowBarrier(dir, 0, 2, 5000);
    const g1 = makeWindowBarrier(dir, 1, 2, 5000);
    const first = g0(10_000);
    // A later call of the same process shares the first answer (one candidate per process).
    const again = g0(99_999);
    const [a, b, c] = await Promise.all([first, g1(12_500), again]);
    expect([a, b, c]).toEqual([12_500, 12_500, 12_500]);
    expect([...readCandidates(dir).entries()].sort()).toEqual([
      [0, 10_000],
      [1, 12_500],
    ]);
  });

  it('ignores files that are not whole candidates, and names the missing generators after the timeout', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'barrier-'));
    writeFileSync(path.join(dir, 'window-g2'), 'not a number');
    writeFileSync(path.join(dir, 'thread-1.hdr.json'), '{}');
    // Files of other writers whose names would read as generator 1 without the prefix check:
    // a bare number, and a name whose characters after the prefix's length are one.
    writeFileSync(path.join(dir, '1'), '1000');
    writeFileSync(path.join(dir, 'abcdefgh1'), '1000');
    await expect(makeWindowBarrier(dir, 0, 3, 200)(1000)).rejects.toThrow(
      'generator 0: generators 1, 2 never published a send window start',
    );
  });

  it('reads only whole candidates: an integer generator index and a finite start after the epoch', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'barrier-'));
    const files: Record<string, string> = {
      'window-g0': '1700000000000',
      'window-g7': '1700000000500.25',
      'window-gx': '1700000000000', // no index
      'window-g1.5': '1700000000000', // not an integer index
      'window-g2': 'abc',
      'window-g3': '0', // the epoch itself: never a real start
      'window-g4': '-5',
      'window-g5': 'Infinity',
      'window-g6': '',
    };
    for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), body);
    expect([...readCandidates(dir).entries()].sort()).toEqual([
      [0, 1_700_000_000_000],
      [7, 1_700_000_000_500.25],
    ]);
  });

  it('a directory that does not exist (yet) has no candidates', () => {
    expect(readCandidates(path.join(tmpdir(), 'barrier-missing-', String(process.pid))).size).toBe(0);
  });
});

describe('sharedWindowStart: the send window of a VU, under one or several generator processes', () => {
  /** A fresh module per test: the thread's barrier is module state, as in a generator thread. */
  const fresh = () => {
    let mod!: typeof import('../lib/window-barrier');
    jest.isolateModules(() => {
      mod = require('../lib/window-barrier') as typeof import('../lib/window-barrier');
    });
    return mod;
  };
  const saved = process.env.RELAY_PERF_HDR_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.RELAY_PERF_HDR_DIR;
    else process.env.RELAY_PERF_HDR_DIR = saved;
  });

  it('one generator: its own start, nothing written', async () => {
    delete process.env.RELAY_PERF_HDR_DIR;
    const dir = mkdtempSync(path.join(tmpdir(), 'barrier-'));
    const { sharedWindowStart } = fresh();
    await expect(sharedWindowStart({ latencyDir: dir }, { index: 0, generators: 1 }, 1234)).resolves.toBe(
      1234,
    );
    expect(readCandidates(dir).size).toBe(0);
  });

  it('several generators without a shared directory: each keeps its own start', async () => {
    delete process.env.RELAY_PERF_HDR_DIR;
    const { sharedWindowStart } = fresh();
    await expect(sharedWindowStart({}, { index: 1, generators: 2 }, 777)).resolves.toBe(777);
  });

  it('several generators: the latest start of all, agreed through the latency directory; later VUs share it', async () => {
    delete process.env.RELAY_PERF_HDR_DIR;
    const dir = mkdtempSync(path.join(tmpdir(), 'barrier-'));
    const { sharedWindowStart } = fresh();
    const mine = sharedWindowStart({ latencyDir: dir }, { index: 0, generators: 2 }, 10_000);
    const other = makeWindowBarrier(dir, 1, 2, 5000)(15_000); // the other process
    const laterVu = sharedWindowStart({ latencyDir: dir }, { index: 0, generators: 2 }, 99_999);
    expect(await Promise.all([mine, other, laterVu])).toEqual([15_000, 15_000, 15_000]);
    expect(readCandidates(dir).get(0)).toBe(10_000); // one candidate per process: the first VU's
  });

  it("RELAY_PERF_HDR_DIR (the runner's directory) wins over config.variables.latencyDir", async () => {
    const runnerDir = mkdtempSync(path.join(tmpdir(), 'barrier-'));
    const varsDir = mkdtempSync(path.join(tmpdir(), 'barrier-'));
    process.env.RELAY_PERF_HDR_DIR = runnerDir;
    const { sharedWindowStart } = fresh();
    const mine = sharedWindowStart({ latencyDir: varsDir }, { index: 0, generators: 2 }, 500);
    await makeWindowBarrier(runnerDir, 1, 2, 5000)(400);
    await expect(mine).resolves.toBe(500);
    expect(readCandidates(varsDir).size).toBe(0);
  });
});
