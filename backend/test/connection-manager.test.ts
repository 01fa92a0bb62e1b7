import type WebSocket from 'ws';
import { logger } from '../src/logger';
import { ConnectionManager } from '../src/websocket/connection-manager';

/*
 * ConnectionManager's bookkeeping and its slow-consumer cap, on fake sockets whose backlog
 * (bufferedAmount) the test sets, so the boundary is exact. broadcast-frame.test.ts and
 * slow-consumer.test.ts check the same rules on real sockets.
 */

const OPEN = 1;

interface FakeClient {
  ws: WebSocket;
  /** Backlog while corked, and after its cork is released. */
  backlog: { corked: number; released: number };
  corked: boolean;
  sent: Buffer[][];
  terminate: jest.Mock;
  close: jest.Mock;
}

function fakeClient(corked: number, released = corked): FakeClient {
  const f = { backlog: { corked, released }, corked: false, sent: [] as Buffer[][] } as FakeClient;
  f.terminate = jest.fn();
  f.close = jest.fn();
  const socket = { cork: () => void (f.corked = true), uncork: () => void (f.corked = false) };
  const sender = {
    _state: 0,
    _queue: [],
    _firstFragment: true,
    _extensions: {},
    sendFrame: (list: Buffer[]) => void f.sent.push(list),
  };
  f.ws = {
    readyState: OPEN,
    _socket: socket,
    _sender: sender,
    get bufferedAmount() {
      return f.corked ? f.backlog.corked : f.backlog.released;
    },
    terminate: f.terminate,
    close: f.close,
  } as unknown as WebSocket;
  return f;
}

describe('ConnectionManager', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(logger, 'warn').mockImplementation(() => logger);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  test('a backlog exactly at the cap is delivered to; one byte over drops the socket', () => {
    const m = new ConnectionManager(100);
    const drops: unknown[] = [];
    m.onDrop((...args) => drops.push(args));
    const atCap = fakeClient(100);
    const over = fakeClient(101);
    m.add('ep', atCap.ws);
    m.add('ep', over.ws);
    expect(m.broadcast('ep', null, Buffer.from('x'), false)).toBe(1);
    expect(atCap.terminate).not.toHaveBeenCalled();
    // At the cap it is not even released early: its frames stay corked with the rest of the turn's.
    expect(atCap.corked).toBe(true);
    expect(over.terminate).toHaveBeenCalledTimes(1);
    expect(drops).toEqual([['ep', 'slow_consumer', 101]]);
    expect(m.count('ep')).toBe(1);
    expect(warn).toHaveBeenCalledWith('slow consumer dropped', {
      endpointId: 'ep',
      bufferedBytes: 101,
      maxBufferedBytes: 100,
    });
  });

  test("a socket over the cap only because of this turn's corked frames is released, not dropped", () => {
    const m = new ConnectionManager(100);
    const reading = fakeClient(150, 100); // the kernel takes the corked bytes once uncorked
    m.add('ep', reading.ws);
    expect(m.broadcast('ep', null, Buffer.from('x'), false)).toBe(1);
    expect(reading.corked).toBe(false);
    expect(reading.terminate).not.toHaveBeenCalled();
  });

  test('a socket still over the cap after release is dropped with the backlog it had then', () => {
    const m = new ConnectionManager(100);
    const drops: unknown[] = [];
    m.onDrop((...args) => drops.push(args));
    const stuck = fakeClient(150, 120);
    m.add('ep', stuck.ws);
    expect(m.broadcast('ep', null, Buffer.from('x'), false)).toBe(0);
    expect(drops).toEqual([['ep', 'slow_consumer', 120]]);
  });

  test('the sender and sockets not open get nothing; each recipient gets the same frame object', () => {
    const m = new ConnectionManager();
    const [a, b, c, closing] = [fakeClient(0), fakeClient(0), fakeClient(0), fakeClient(0)];
    (closing.ws as unknown as { readyState: number }).readyState = 2;
    for (const f of [a, b, c, closing]) m.add('ep', f.ws);
    expect(m.broadcast('ep', a.ws, Buffer.from('hi'), false)).toBe(2);
    expect(a.sent).toHaveLength(0);
    expect(closing.sent).toHaveLength(0);
    expect(b.sent).toHaveLength(1);
    expect(c.sent[0]).toBe(b.sent[0]);
    expect(m.broadcast('other', null, Buffer.from('hi'), false)).toBe(0);
  });

  test('remove forgets the socket once, tells the leave listener, and drops an empty endpoint', () => {
    const m = new ConnectionManager();
    const left: string[] = [];
    m.onLeave((id) => left.push(id));
    const a = fakeClient(0);
    m.add('ep', a.ws);
    expect([...m.perEndpoint()]).toEqual([['ep', 1]]);
    expect(m.remove('ep', a.ws)).toBe(true);
    expect(m.remove('ep', a.ws)).toBe(false);
    expect(left).toEqual(['ep']);
    expect([...m.perEndpoint()]).toEqual([]);
  });

  test('a deleted endpoint closes its sockets and refuses new ones for 60 s, then accepts again', () => {
    jest.useFakeTimers();
    const m = new ConnectionManager();
    const left: string[] = [];
    m.onLeave((id) => left.push(id));
    const [a, b] = [fakeClient(0), fakeClient(0)];
    m.add('ep', a.ws);
    m.add('ep', b.ws);
    expect(m.closeEndpoint('ep', 4404, 'endpoint deleted')).toBe(2);
    expect(a.close).toHaveBeenCalledWith(4404, 'endpoint deleted');
    expect(left).toEqual(['ep', 'ep']);
    expect(m.count('ep')).toBe(0);
    expect(m.add('ep', fakeClient(0).ws)).toBe(false);
    jest.advanceTimersByTime(59_999);
    expect(m.add('ep', fakeClient(0).ws)).toBe(false);
    jest.advanceTimersByTime(1);
    expect(m.add('ep', fakeClient(0).ws)).toBe(true);
    expect(m.count('ep')).toBe(1);
  });
});
