import type { Socket } from 'node:net';
import { WriteCoalescer } from '../src/websocket/write-coalescer';

/*
 * The coalescer's contract on sockets that only count cork/uncork: one cork per socket per
 * turn, one setImmediate per turn however many sockets, release only what it holds.
 */

interface FakeSocket {
  corks: number;
  uncorks: number;
  socket: Socket;
}

function fakeSocket(): FakeSocket {
  const f = { corks: 0, uncorks: 0 } as FakeSocket;
  f.socket = {
    cork: () => void f.corks++,
    uncork: () => void f.uncorks++,
  } as unknown as Socket;
  return f;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WriteCoalescer', () => {
  afterEach(() => jest.restoreAllMocks());

  test('corks a socket once per turn and uncorks it once at the end of the turn', async () => {
    const c = new WriteCoalescer();
    const a = fakeSocket();
    c.hold(a.socket);
    c.hold(a.socket);
    c.hold(a.socket);
    expect([a.corks, a.uncorks]).toEqual([1, 0]);
    await nextTurn();
    expect([a.corks, a.uncorks]).toEqual([1, 1]);
    // Next turn: held again from scratch.
    c.hold(a.socket);
    expect(a.corks).toBe(2);
    await nextTurn();
    expect(a.uncorks).toBe(2);
  });

  test('schedules one flush per turn however many sockets it holds', async () => {
    const spy = jest.spyOn(global, 'setImmediate');
    const c = new WriteCoalescer();
    const sockets = [fakeSocket(), fakeSocket(), fakeSocket()];
    for (const s of sockets) c.hold(s.socket);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    await nextTurn();
    expect(sockets.map((s) => [s.corks, s.uncorks])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  });

  test('release uncorks a held socket now and only once; the end-of-turn flush skips it', async () => {
    const c = new WriteCoalescer();
    const a = fakeSocket();
    const b = fakeSocket();
    c.hold(a.socket);
    c.hold(b.socket);
    expect(c.release(a.socket)).toBe(true);
    expect(a.uncorks).toBe(1);
    expect(c.release(a.socket)).toBe(false);
    expect(a.uncorks).toBe(1);
    await nextTurn();
    expect([a.uncorks, b.uncorks]).toEqual([1, 1]);
  });

  test('release of a socket it does not hold returns false and leaves the socket alone', () => {
    const c = new WriteCoalescer();
    const a = fakeSocket();
    expect(c.release(a.socket)).toBe(false);
    expect([a.corks, a.uncorks]).toEqual([0, 0]);
  });

  test('a socket held again after release in the same turn is corked again and flushed', async () => {
    const c = new WriteCoalescer();
    const a = fakeSocket();
    c.hold(a.socket);
    c.release(a.socket);
    c.hold(a.socket);
    expect([a.corks, a.uncorks]).toEqual([2, 1]);
    await nextTurn();
    expect([a.corks, a.uncorks]).toEqual([2, 2]);
  });

  test('flush called directly uncorks everything held and lets the next hold schedule again', async () => {
    const c = new WriteCoalescer();
    const a = fakeSocket();
    c.hold(a.socket);
    c.flush();
    expect(a.uncorks).toBe(1);
    const spy = jest.spyOn(global, 'setImmediate');
    c.hold(a.socket);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    await nextTurn();
    expect([a.corks, a.uncorks]).toEqual([2, 2]);
  });
});
