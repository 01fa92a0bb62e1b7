import { SendSchedule } from '../lib/schedule';
import { SendLoop, type Sender } from '../lib/send-loop';

/** A connection on a schedule, as processors/relay.ts builds it: sends every frame due, stops at the plan's end. */
function connection(schedule: SendSchedule, log: [number, number][], id: number) {
  let k = 0;
  let done = false;
  const sender: Sender = {
    nextDueMs: () => (done ? Infinity : Math.min(schedule.timeOf(k + 1), schedule.endMs)),
    sendDue: (now) => {
      k = schedule.takeDue(k, now, 250, (_k, at) => log.push([id, at]));
      if (now >= schedule.endMs) done = true;
    },
  };
  return sender;
}

describe('SendLoop (one timer for all connections of a thread)', () => {
  const loops: SendLoop[] = [];
  const newLoop = (clock?: () => number) => {
    const l = new SendLoop(clock);
    loops.push(l);
    return l;
  };
  afterEach(() => loops.splice(0).forEach((l) => l.stop()));

  it('sends every frame of every connection, each at its due time, in due order per connection', () => {
    const loop = newLoop(() => 0);
    const log: [number, number][] = [];
    const start = 1000;
    const connections = 50;
    for (let i = 0; i < connections; i++) {
      // 2000 msg/s aggregate for 3 s, each connection its own random-ish phase
      loop.add(
        connection(
          new SendSchedule([{ ratePerSecond: 2000, seconds: 3 }], start, 1 / connections, (i * 0.37) % 1),
          log,
          i,
        ),
      );
    }
    // A virtual clock that advances 1 ms at a time, as the timer would.
    for (let now = start; now <= start + 3000; now++) {
      const before = log.length;
      loop.runDue(now);
      for (const [, at] of log.slice(before)) {
        expect(at).toBeLessThanOrEqual(now);
        expect(at).toBeGreaterThan(now - 1);
      }
    }
    expect(log.length).toBe(6000);
    for (let i = 0; i < connections; i++) {
      const mine = log.filter(([id]) => id === i).map(([, at]) => at);
      expect(mine.length).toBe(120);
      expect([...mine].sort((a, b) => a - b)).toEqual(mine);
    }
    // Every connection reached the end of its plan and left the loop.
    loop.runDue(start + 3001);
    expect(loop.size).toBe(0);
  });

  it('serves a backlog after a stall in one pass, and forgets a removed connection', () => {
    const loop = newLoop(() => 0);
    const log: [number, number][] = [];
    const a = connection(new SendSchedule([{ ratePerSecond: 100, seconds: 2 }], 0, 1, 0.5), log, 1);
    const b = connection(new SendSchedule([{ ratePerSecond: 100, seconds: 2 }], 0, 1, 0.5), log, 2);
    loop.add(a);
    loop.add(b);
    loop.runDue(500); // half a second late: 50 frames each due
    expect(log.filter(([id]) => id === 1).length).toBe(50);
    expect(log.filter(([id]) => id === 2).length).toBe(50);
    loop.remove(b);
    loop.runDue(1000);
    expect(log.filter(([id]) => id === 1).length).toBe(100);
    expect(log.filter(([id]) => id === 2).length).toBe(50);
  });

  it('drives itself with a real timer', async () => {
    const loop = newLoop();
    const log: [number, number][] = [];
    const start = performance.timeOrigin + performance.now() + 20;
    loop.add(connection(new SendSchedule([{ ratePerSecond: 200, seconds: 0.2 }], start, 1, 0), log, 1));
    await new Promise((r) => setTimeout(r, 400));
    expect(log.length).toBe(40);
    expect(loop.size).toBe(0);
  });
});
