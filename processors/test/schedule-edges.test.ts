/** The rate-plan syntax's edges and takeDue's dropping of overdue frames after the plan. */
import { parseRatePlan, SendSchedule } from '../lib/schedule';

describe('parseRatePlan syntax', () => {
  it('takes decimals of any length in both rate and duration', () => {
    expect(parseRatePlan('2.55x1.25, 10.125', 4)).toEqual([
      { ratePerSecond: 2.55, seconds: 1.25 },
      { ratePerSecond: 10.125, seconds: 4 },
    ]);
  });

  it.each(['5x10junk', 'junk5x10', '5x10x3', '5.', '.5', '5xx10', '5x', '-5x10', '5 x 10'])(
    'rejects "%s" as a whole (no partial match)',
    (step) => {
      expect(() => parseRatePlan(step, 10)).toThrow(`bad rate step "${step}"`);
    },
  );
});

describe('takeDue after the plan has ended', () => {
  // 10 msg/s for 1 s, phase 0: frames 1..10 due at 100, 200, ..., 1000 ms.
  const schedule = () => new SendSchedule([{ ratePerSecond: 10, seconds: 1 }], 0, 1, 0);
  const take = (now: number, graceMs: number) => {
    const sent: [number, number][] = [];
    const k = schedule().takeDue(0, now, graceMs, (n, at) => sent.push([n, at]));
    return { k, sent };
  };

  it('drops frames more than the grace overdue, sends those within it (the grace itself included)', () => {
    const { k, sent } = take(1100, 200);
    expect(k).toBe(10);
    expect(sent).toEqual([
      [9, 900],
      [10, 1000],
    ]);
  });

  it('at the very end of the plan still sends the whole backlog (still inside the window)', () => {
    const { k, sent } = take(1000, 200);
    expect(k).toBe(10);
    expect(sent.map(([n]) => n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
