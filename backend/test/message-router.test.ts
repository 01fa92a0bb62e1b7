import type WebSocket from 'ws';
import { logger } from '../src/logger';
import { RelayMetrics } from '../src/monitoring/metrics';
import type { AlertService } from '../src/services/alert.service';
import {
  QueueFullError,
  RejectedReadingError,
  type DeviceDataService,
} from '../src/services/device-data.service';
import type { StatsStore } from '../src/services/stats/stats-store';
import type { Broadcaster } from '../src/websocket/broadcaster';
import { MessageRouter } from '../src/websocket/message-router';
import { deferred } from './helpers/deferred';

/*
 * The router on its own, with recording fakes around it: what it counts, when it forwards
 * (at once in batched mode, after the stats write in immediate mode, in the sender's order),
 * and how it answers device data the store or the alert rules refuse. The relay-level suites
 * (forwarding, stats-modes, device-data*) cover the same paths through real sockets.
 */

interface Sent {
  endpointId: string;
  sender: unknown;
  data: string;
  isBinary: boolean;
}

interface FakeSender {
  readyState: number;
  OPEN: number;
  send: jest.Mock;
}

function setup(
  opts: {
    delivered?: number;
    /** Busy-waits this long inside broadcast, so the forward histogram has a known floor. */
    broadcastMs?: number;
    record?: () => Promise<void> | undefined;
    store?: () => Promise<void>;
    evaluate?: () => Promise<unknown[]>;
  } = {},
) {
  const sent: Sent[] = [];
  const broadcaster: Broadcaster = {
    broadcast(endpointId, sender, data, isBinary) {
      const until = performance.now() + (opts.broadcastMs ?? 0);
      while (performance.now() < until);
      sent.push({ endpointId, sender, data: data.toString(), isBinary });
      return sender === null ? 0 : (opts.delivered ?? 0);
    },
  };
  const stats = { recordMessage: opts.record ?? (() => undefined) } as unknown as StatsStore;
  const store = jest.fn(opts.store ?? (() => Promise.resolve()));
  const evaluate = jest.fn(opts.evaluate ?? (() => Promise.resolve([])));
  const metrics = new RelayMetrics({ perEndpoint: () => [] });
  const router = new MessageRouter(
    broadcaster,
    stats,
    { store } as unknown as DeviceDataService,
    { evaluate } as unknown as AlertService,
    metrics,
  );
  const sender: FakeSender = { readyState: 1, OPEN: 1, send: jest.fn() };
  const route = (data: string, isBinary = false, from: FakeSender = sender) =>
    router.route('ep', from as unknown as WebSocket, Buffer.from(data), isBinary);
  const replies = () =>
    sender.send.mock.calls.map((c) => JSON.parse(c[0] as string) as { type: string; message: string });
  return { sent, store, evaluate, metrics, sender, route, replies };
}

/** Lets promise callbacks (several hops deep) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const reading = (deviceId = 'd1') => JSON.stringify({ type: 'device_data', deviceId, data: { t: 21.5 } });

describe('MessageRouter', () => {
  let errors: jest.SpyInstance;
  beforeEach(() => {
    errors = jest.spyOn(logger, 'error').mockImplementation(() => logger);
  });
  afterEach(() => jest.restoreAllMocks());

  test('batched mode: forwards at once and counts frames, bytes, deliveries and delivered bytes', () => {
    const t = setup({ delivered: 3 });
    t.route('hello!!');
    t.route('bin', true);
    expect(t.sent).toEqual([
      { endpointId: 'ep', sender: t.sender, data: 'hello!!', isBinary: false },
      { endpointId: 'ep', sender: t.sender, data: 'bin', isBinary: true },
    ]);
    const c = t.metrics.counters;
    expect([c.framesReceived, c.bytesReceived, c.deliveries, c.bytesDelivered]).toEqual([
      2,
      10,
      6,
      3 * 7 + 3 * 3,
    ]);
  });

  test('the forward histogram observes seconds from receipt to the last send', async () => {
    const t = setup({ delivered: 1, broadcastMs: 3 });
    t.route('a');
    t.route('b');
    const values = (await t.metrics.forwardSeconds.get()).values;
    const count = values.find((v) => v.metricName === 'relay_forward_duration_seconds_count')!.value;
    const sum = values.find((v) => v.metricName === 'relay_forward_duration_seconds_sum')!.value;
    expect(count).toBe(2);
    // Each forward took at least the 3 ms spent in broadcast, and far less than a second.
    expect(sum).toBeGreaterThanOrEqual(0.006);
    expect(sum).toBeLessThan(1);
  });

  test('immediate mode: a frame is forwarded only after its stats write, in the order its sender sent', async () => {
    const writes = [deferred(), deferred(), deferred()];
    let n = 0;
    const t = setup({ record: () => writes[n++].promise });
    t.route('f1');
    t.route('f2');
    expect(t.sent).toHaveLength(0);
    // The second write finishes first: f2 still waits for f1.
    writes[1].resolve();
    await settle();
    expect(t.sent).toHaveLength(0);
    writes[0].resolve();
    await settle();
    expect(t.sent.map((s) => s.data)).toEqual(['f1', 'f2']);
  });

  test('immediate mode: a frame sent while an earlier one is still waiting queues behind it, even after others finished', async () => {
    const writes = [deferred(), deferred(), deferred()];
    let n = 0;
    const t = setup({ record: () => writes[n++].promise });
    t.route('f1');
    t.route('f2');
    writes[0].resolve();
    await settle();
    expect(t.sent.map((s) => s.data)).toEqual(['f1']);
    // f1 is done; f2 still waits. f3's write finishes before f2's: f3 must not overtake f2.
    t.route('f3');
    writes[2].resolve();
    await settle();
    expect(t.sent.map((s) => s.data)).toEqual(['f1']);
    writes[1].resolve();
    await settle();
    expect(t.sent.map((s) => s.data)).toEqual(['f1', 'f2', 'f3']);
  });

  test('immediate mode: senders do not wait for each other', async () => {
    const writes = [deferred(), deferred()];
    let n = 0;
    const t = setup({ record: () => writes[n++].promise });
    const other: FakeSender = { readyState: 1, OPEN: 1, send: jest.fn() };
    t.route('from-a');
    t.route('from-b', false, other);
    writes[1].resolve();
    await settle();
    expect(t.sent.map((s) => s.data)).toEqual(['from-b']);
    writes[0].resolve();
    await settle();
    expect(t.sent.map((s) => s.data)).toEqual(['from-b', 'from-a']);
  });

  test('a device reading is forwarded, stored, then evaluated; fired alerts go to the whole endpoint', async () => {
    const t = setup({ delivered: 2, evaluate: () => Promise.resolve([{ rule: 'hot', value: 21.5 }]) });
    t.route(reading());
    await settle();
    expect(t.store).toHaveBeenCalledWith('ep', 'd1', { t: 21.5 });
    expect(t.evaluate).toHaveBeenCalledWith('ep', 'd1', { t: 21.5 });
    expect(t.sent).toHaveLength(2);
    expect(t.sent[1]).toEqual({
      endpointId: 'ep',
      sender: null,
      data: JSON.stringify({ type: 'alert', rule: 'hot', value: 21.5 }),
      isBinary: false,
    });
    expect(t.sender.send).not.toHaveBeenCalled();
  });

  test('a binary frame that contains the device-data marker is only forwarded', async () => {
    const t = setup();
    t.route(reading(), true);
    await settle();
    expect(t.sent).toHaveLength(1);
    expect(t.store).not.toHaveBeenCalled();
  });

  test('a malformed device frame is forwarded, counted and answered with an error while the sender is open', async () => {
    const t = setup();
    t.route('{"type":"device_data","deviceId":""}');
    await settle();
    expect(t.sent).toHaveLength(1);
    expect(t.store).not.toHaveBeenCalled();
    expect(t.replies()).toEqual([
      { type: 'error', message: expect.stringMatching(/^invalid device_data: /) },
    ]);
    expect(
      (await t.metrics.registry.getSingleMetric('relay_device_frames_malformed_total')!.get()).values[0]
        .value,
    ).toBe(1);
  });

  test('no error frame to a sender that is no longer open', async () => {
    const t = setup({ store: () => Promise.reject(new Error('db down')) });
    t.sender.readyState = 3;
    t.route('{"type":"device_data","deviceId":""}');
    t.route(reading());
    await settle();
    expect(t.sender.send).not.toHaveBeenCalled();
  });

  test('a reading the database refuses: logged, and the sender asked to retry later', async () => {
    const t = setup({ store: () => Promise.reject(new Error('db down')) });
    t.route(reading());
    await settle();
    expect(t.replies()).toEqual([{ type: 'error', message: 'device data could not be stored; retry later' }]);
    expect(errors).toHaveBeenCalledWith('device data not stored', {
      endpointId: 'ep',
      deviceId: 'd1',
      error: 'db down',
    });
    expect(t.evaluate).not.toHaveBeenCalled();
  });

  test('a full queue: the sender gets the queue message, nothing logged per reading', async () => {
    const t = setup({ store: () => Promise.reject(new QueueFullError()) });
    t.route(reading());
    await settle();
    expect(t.replies()).toEqual([{ type: 'error', message: new QueueFullError().message }]);
    expect(errors).not.toHaveBeenCalled();
  });

  test('a rejected reading: counted by reason, the sender told why, nothing logged', async () => {
    const t = setup({ store: () => Promise.reject(new RejectedReadingError('too_deep')) });
    t.route(reading());
    await settle();
    expect(t.replies()).toEqual([{ type: 'error', message: new RejectedReadingError('too_deep').message }]);
    expect(errors).not.toHaveBeenCalled();
    const values = (await t.metrics.registry.getSingleMetric('relay_device_data_rejected_total')!.get())
      .values;
    expect(values.find((v) => v.labels.reason === 'too_deep')!.value).toBe(1);
  });

  test('alert rules that fail are logged; the stored reading is not reported to the sender as failed', async () => {
    const t = setup({ evaluate: () => Promise.reject(new Error('rules unavailable')) });
    t.route(reading('d9'));
    await settle();
    expect(errors).toHaveBeenCalledWith('alert rules not evaluated', {
      endpointId: 'ep',
      deviceId: 'd9',
      error: 'rules unavailable',
    });
    expect(t.sender.send).not.toHaveBeenCalled();
    expect(t.sent).toHaveLength(1);
  });
});
