/**
 * The machine's steal time (runner/proc-sampler.ts readMachineTicks, stealPercent): what share
 * of a run's CPU time the hypervisor gave to someone else, read from /proc/stat.
 */
import { readMachineTicks, stealPercent } from '../proc-sampler';

// A 2-CPU /proc/stat as Linux 6.x prints it: the aggregate line, one per CPU, then the rest.
const STAT = (user: number, idle: number, steal: number, guest = 0) =>
  [
    `cpu  ${user} 5 300 ${idle} 20 0 40 ${steal} ${guest} 0`,
    `cpu0 ${user / 2} 2 150 ${idle / 2} 10 0 20 ${steal / 2} 0 0`,
    `cpu1 ${user / 2} 3 150 ${idle / 2} 10 0 20 ${steal / 2} 0 0`,
    'intr 12345 0 0',
    'ctxt 999',
  ].join('\n');

describe('readMachineTicks', () => {
  test('sums the first eight fields of the aggregate line and takes the eighth as steal', () => {
    // guest time is already inside user: counting it again would dilute steal's share
    expect(readMachineTicks(STAT(1000, 8000, 600, 77))).toEqual({
      total: 1000 + 5 + 300 + 8000 + 20 + 0 + 40 + 600,
      steal: 600,
    });
  });

  test.each([
    ['no aggregate line', 'cpu0 1 2 3 4 5 6 7 8\nintr 1'],
    ['a kernel without the steal field', 'cpu  1 2 3 4 5 6 7'],
    ['empty', ''],
  ])('null for %s', (_why, text) => {
    expect(readMachineTicks(text)).toBeNull();
  });

  test('null when /proc/stat cannot be read', () => {
    expect(
      readMachineTicks(() => {
        throw new Error('ENOENT');
      }),
    ).toBeNull();
  });

  test('reads this machine (Linux)', () => {
    const now = readMachineTicks();
    expect(now).not.toBeNull();
    expect(now!.steal).toBeGreaterThanOrEqual(0);
    expect(now!.total).toBeGreaterThan(now!.steal);
  });
});

describe('stealPercent', () => {
  test('the steal share of the CPU time between two readings, one decimal', () => {
    const before = readMachineTicks(STAT(1000, 8000, 600));
    // 400 more user, 400 more idle, 200 more steal: 200 of 1000 ticks
    const after = readMachineTicks(STAT(1400, 8400, 800));
    expect(stealPercent(before, after)).toBe(20);
    expect(stealPercent(before, readMachineTicks(STAT(1400, 8401, 600)))).toBe(0);
    expect(stealPercent(before, readMachineTicks(STAT(1000, 8000, 603)))).toBe(100);
    expect(stealPercent(before, readMachineTicks(STAT(1001, 8001, 601)))).toBe(33.3);
  });

  test('null without two readings, without time between them or with steal going back', () => {
    const r = readMachineTicks(STAT(1000, 8000, 600));
    expect(stealPercent(null, r)).toBeNull();
    expect(stealPercent(r, null)).toBeNull();
    expect(stealPercent(r, r)).toBeNull();
    // a counter that went back (a CPU taken offline) is no reading
    expect(stealPercent(r, readMachineTicks(STAT(1400, 8400, 500)))).toBeNull();
  });
});
