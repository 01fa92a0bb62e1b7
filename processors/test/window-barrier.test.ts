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
    await expect(makeWindowBarrier(dir, 0, 3, 200)(1000)).rejects.toThrow(
      'generator 0: generators 1, 2 never published a send window start',
    );
  });
});
