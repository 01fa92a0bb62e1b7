/**
 * SendLoop's bookkeeping: the min-heap must always hand out the earliest due sender
 * (including after removals), and the single timer must be re-armed for an earlier
 * sender, replaced rather than duplicated, and cleared by stop().
 */
import { SendLoop, type Sender } from '../lib/send-loop';

/** A sender with a fixed list of due times (ms); records the `now` of each sendDue call. */
function scripted(dues: number[], fired: [string, number, number][], name: string): Sender {
  let k = 0;
  return {
    nextDueMs: () => (k < dues.length ? dues[k] : Infinity),
    sendDue: (now) => {
      while (k < dues.length && dues[k] <= now) fired.push([name, dues[k++], now]);
    },
  };
}

/** Deterministic pseudo-random numbers (a 32-bit LCG), so a failure is reproducible. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('SendLoop heap', () => {
  it('always serves the earliest due sender first, whatever the insertion order (random schedules)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = lcg(seed);
      const loop = new SendLoop(() => 0);
      const fired: [string, number, number][] = [];
      const all: number[] = [];
      for (let i = 0; i < 40; i++) {
        // each sender: 1 to 5 frames at distinct integer times (no ties, so the order is unique)
        const dues: number[] = [];
        let t = Math.floor(rnd() * 200) * 41 + i;
        for (let j = 0, n = 1 + Math.floor(rnd() * 5); j < n; j++, t += 1 + Math.floor(rnd() * 300) * 41)
          dues.push(t);
        all.push(...dues);
        loop.add(scripted(dues, fired, `s${i}`));
      }
      all.sort((a, b) => a - b);
      // Wake up exactly at every due time: each frame must go out at its own due time, none earlier or later.
      for (const t of all) loop.runDue(t);
      expect(fired.map(([, due]) => due)).toEqual(all);
      for (const [, due, now] of fired) expect(now).toBe(due);
      expect(loop.size).toBe(0);
    }
  });

  it('keeps serving everyone else in due order after removals anywhere in the heap', () => {
    const rnd = lcg(42);
    const loop = new SendLoop(() => 0);
    const fired: [string, number, number][] = [];
    const senders: Sender[] = [];
    const duesOf = new Map<string, number[]>();
    for (let i = 0; i < 30; i++) {
      const dues = [100 + i * 7 + Math.floor(rnd() * 5) * 211, 10_000 + i * 13];
      duesOf.set(`s${i}`, dues);
      senders.push(scripted(dues, fired, `s${i}`));
    }
    // insertion in a scrambled order builds a heap whose array order is not the due order
    for (const i of [...senders.keys()].sort(() => rnd() - 0.5)) loop.add(senders[i]);
    const removed = new Set([0, 7, 29, 13, 22, 1]);
    for (const i of removed) loop.remove(senders[i]);
    loop.remove(scripted([5], fired, 'never added')); // unknown: no effect
    expect(loop.size).toBe(30 - removed.size);
    const expected = [...duesOf.entries()]
      .filter(([name]) => !removed.has(Number(name.slice(1))))
      .flatMap(([, d]) => d)
      .sort((a, b) => a - b);
    for (const t of expected) loop.runDue(t);
    expect(fired.map(([, due]) => due)).toEqual(expected);
    for (const [, due, now] of fired) expect(now).toBe(due);
    expect(fired.some(([name]) => removed.has(Number(name.slice(1))))).toBe(false);
  });

  it('removing the sender at the end of the heap removes it (and only it)', () => {
    const loop = new SendLoop(() => 0);
    const fired: [string, number, number][] = [];
    const a = scripted([10], fired, 'a');
    const b = scripted([20], fired, 'b');
    const c = scripted([30], fired, 'c');
    loop.add(a);
    loop.add(b);
    loop.add(c); // the heap's array is [a, b, c]: c is last
    loop.remove(c);
    expect(loop.size).toBe(2);
    loop.runDue(100);
    expect(fired.map(([n]) => n)).toEqual(['a', 'b']);
  });

  it('does not take on a sender that has nothing to send', () => {
    const loop = new SendLoop(() => 0);
    loop.add(scripted([], [], 'done'));
    expect(loop.size).toBe(0);
  });
});

describe('SendLoop timer', () => {
  let now = 0;
  const clock = jest.fn(() => now);
  beforeEach(() => {
    jest.useFakeTimers();
    now = 0;
    clock.mockClear();
  });
  afterEach(() => jest.useRealTimers());

  /** Moves the virtual clock and the fake timers together, 1 ms at a time. */
  const advance = (ms: number) => {
    for (let i = 0; i < ms; i++) {
      now++;
      jest.advanceTimersByTime(1);
    }
  };

  it('wakes up once at the due time, not before (no polling)', () => {
    const loop = new SendLoop(clock);
    const fired: [string, number, number][] = [];
    loop.add(scripted([100, 250], fired, 'a'));
    expect(jest.getTimerCount()).toBe(1);
    advance(99);
    expect(fired).toEqual([]);
    // one clock read to arm the timer; a busy loop of zero-delay timers would read it on every wake-up
    expect(clock.mock.calls.length).toBeLessThanOrEqual(2);
    advance(1);
    expect(fired).toEqual([['a', 100, 100]]);
    advance(150);
    expect(fired).toEqual([
      ['a', 100, 100],
      ['a', 250, 250],
    ]);
    expect(loop.size).toBe(0);
    loop.stop();
  });

  it('re-arms for a sender due earlier than the pending timer, replacing that timer', () => {
    const loop = new SendLoop(clock);
    const fired: [string, number, number][] = [];
    loop.add(scripted([1000], fired, 'late'));
    loop.add(scripted([100], fired, 'early'));
    expect(jest.getTimerCount()).toBe(1);
    advance(100);
    expect(fired).toEqual([['early', 100, 100]]);
    // and a sender due later than the pending timer leaves it alone
    loop.add(scripted([2000], fired, 'later'));
    expect(jest.getTimerCount()).toBe(1);
    advance(900);
    expect(fired.map(([n]) => n)).toEqual(['early', 'late']);
    advance(1000);
    expect(fired.map(([n]) => n)).toEqual(['early', 'late', 'later']);
    loop.stop();
  });

  it('stop() drops every sender and the pending timer', () => {
    const loop = new SendLoop(clock);
    const fired: [string, number, number][] = [];
    loop.add(scripted([50], fired, 'a'));
    loop.add(scripted([60], fired, 'b'));
    loop.stop();
    expect(loop.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    advance(100);
    expect(fired).toEqual([]);
    // usable again afterwards, with a fresh timer
    loop.add(scripted([150], fired, 'c'));
    expect(jest.getTimerCount()).toBe(1);
    advance(50);
    expect(fired).toEqual([['c', 150, 150]]);
  });
});
