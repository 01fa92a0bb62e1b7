import { parseRatePlan, planSeconds, SendSchedule } from '../lib/schedule';

describe('parseRatePlan', () => {
  it('reads constant and stepped plans', () => {
    expect(parseRatePlan('100', 30)).toEqual([{ ratePerSecond: 100, seconds: 30 }]);
    expect(parseRatePlan(100, 30)).toEqual([{ ratePerSecond: 100, seconds: 30 }]);
    expect(parseRatePlan('500x10, 1000', 20)).toEqual([
      { ratePerSecond: 500, seconds: 10 },
      { ratePerSecond: 1000, seconds: 20 },
    ]);
    expect(planSeconds(parseRatePlan('500x10,1000', 20))).toBe(30);
  });

  it('rejects nonsense with the offending part in the message', () => {
    expect(() => parseRatePlan('fast', 10)).toThrow(/bad rate step "fast"/);
    expect(() => parseRatePlan('100x0', 10)).toThrow(/positive duration/);
    expect(() => parseRatePlan('', 10)).toThrow(/empty/);
  });
});

describe('SendSchedule', () => {
  const start = 1_000_000;

  it('owes exactly rate x seconds x share over the plan', () => {
    // 100 msg/s aggregate over 10 connections -> 10 msg/s each, for 5 s.
    const s = new SendSchedule(parseRatePlan('100', 5), start, 1 / 10, 0);
    expect(s.totalDue()).toBe(50);
    expect(s.endMs).toBe(start + 5000);
  });

  it('depends only on the wall clock: a late tick owes everything scheduled so far', () => {
    const s = new SendSchedule(parseRatePlan('10', 10), start, 1, 0.5);
    expect(s.dueBy(start)).toBe(0);
    expect(s.dueBy(start + 3000)).toBe(30);
    expect(s.dueBy(start + 60_000)).toBe(s.dueBy(s.endMs));
  });

  it('timeOf is the inverse of dueBy, across steps', () => {
    const s = new SendSchedule(parseRatePlan('10x2,40x2', 1), start, 1, 0.25);
    for (let k = 1; k <= s.dueBy(s.endMs); k++) {
      const t = s.timeOf(k);
      expect(s.dueBy(t + 1e-6)).toBe(k);
      expect(s.dueBy(t - 1e-3)).toBe(k - 1);
    }
    expect(s.timeOf(s.dueBy(s.endMs) + 1)).toBe(Infinity);
    // 10/s for 2 s then 40/s for 2 s
    expect(s.dueBy(start + 2000)).toBe(20);
    expect(s.dueBy(s.endMs)).toBe(100);
  });

  it('does not make a late joiner burst the frames it missed', () => {
    const s = new SendSchedule(parseRatePlan('10', 10), start, 1, 0, start + 4000);
    expect(s.skipped).toBe(40);
    expect(s.totalDue()).toBe(60);
  });
});
