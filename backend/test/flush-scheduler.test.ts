import type { Db } from '../src/db/prisma';
import { logger } from '../src/logger';
import { BatchedDeviceDataWriter } from '../src/services/device-data/batched-device-data-writer';
import type { DeviceDataWriter, DeviceRow } from '../src/services/device-data/device-data-writer';
import { ImmediateDeviceDataWriter } from '../src/services/device-data/immediate-device-data-writer';
import { BatchedStats } from '../src/services/stats/batched-stats';
import { ImmediateStats } from '../src/services/stats/immediate-stats';
import type { StatsStore } from '../src/services/stats/stats-store';
import {
  beforeDeadline,
  FlushScheduler,
  settleInFlight,
  type FlushTarget,
} from '../src/util/flush-scheduler';

/**
 * When batched writes happen: the interval, the backoff after a failure, the early flush of a
 * full buffer, and drain/stop at shutdown. Time is Jest's fake clock, never a sleep.
 */

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * Awaits `work` while running the fake clock's due timers, setImmediate included: a batched
 * writer yields one event-loop turn between statements (setImmediate), which fake timers hold
 * until the test lets them run.
 */
async function withTurns<T>(work: Promise<T>): Promise<T> {
  let done = false;
  void work.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; !done && i < 1000; i++) await jest.advanceTimersByTimeAsync(0);
  return work;
}

/** A target whose flushes succeed or fail as scripted; `times` holds the fake clock at each call. */
class ScriptedTarget implements FlushTarget {
  pending = 0;
  readonly times: number[] = [];
  /** Outcome per call; past the end every flush succeeds. A Deferred leaves the flush in flight. */
  constructor(readonly script: ('ok' | 'fail' | Deferred)[] = []) {}

  flush(): Promise<void> {
    this.times.push(Date.now());
    const step = this.script[this.times.length - 1] ?? 'ok';
    if (step === 'fail') return Promise.reject(new Error('database down'));
    const done = step === 'ok' ? Promise.resolve() : step.promise;
    return done.then(() => void (this.pending = 0));
  }

  pendingCount(): number {
    return this.pending;
  }
}

let errors: jest.SpyInstance;
beforeEach(() => {
  jest.useFakeTimers({ now: 0 });
  errors = jest.spyOn(logger, 'error').mockImplementation(() => logger);
});
afterEach(() => {
  jest.useRealTimers();
  errors.mockRestore();
});

describe('FlushScheduler', () => {
  test('flushes once per interval, the next interval counted from the end of the previous flush', async () => {
    const slow = deferred();
    const target = new ScriptedTarget(['ok', slow]);
    const scheduler = new FlushScheduler('test', 1000, target);
    await jest.advanceTimersByTimeAsync(999);
    expect(target.times).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(target.times).toEqual([1000]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(target.times).toEqual([1000, 2000]);
    // The second flush takes 500 ms: the third comes 1000 ms after it ends, not at 3000.
    await jest.advanceTimersByTimeAsync(500);
    slow.resolve();
    await jest.advanceTimersByTimeAsync(999);
    expect(target.times).toEqual([1000, 2000]);
    await jest.advanceTimersByTimeAsync(1);
    expect(target.times).toEqual([1000, 2000, 3500]);
    expect(scheduler.failing).toBe(false);
    await scheduler.drain(0);
  });

  test('after failures it retries at doubling delays capped at 30 s, then returns to the interval', async () => {
    const fails = Array<'fail'>(7).fill('fail');
    const target = new ScriptedTarget(fails);
    const scheduler = new FlushScheduler('test', 5000, target);
    await jest.advanceTimersByTimeAsync(5000);
    expect(scheduler.failing).toBe(true);
    // Delays after failures 1..7: 5, 10, 20, 30 (capped), 30, 30, 30 s.
    await jest.advanceTimersByTimeAsync(5000 + 10_000 + 20_000 + 30_000 * 4);
    const gaps = target.times.slice(1).map((t, i) => t - target.times[i]);
    expect(gaps).toEqual([5000, 10_000, 20_000, 30_000, 30_000, 30_000, 30_000]);
    expect(scheduler.failing).toBe(false);
    expect(errors.mock.calls.map(([, meta]) => (meta as { retryInMs: number }).retryInMs)).toEqual([
      5000, 10_000, 20_000, 30_000, 30_000, 30_000, 30_000,
    ]);
    expect(errors.mock.calls[0]).toEqual([
      'test flush failed; kept for retry',
      { pending: 0, attempt: 1, retryInMs: 5000, error: 'database down' },
    ]);
    // The eighth flush succeeded: back to the plain interval.
    await jest.advanceTimersByTimeAsync(10_000);
    const last = target.times.slice(-3);
    expect([last[1] - last[0], last[2] - last[1]]).toEqual([5000, 5000]);
    await scheduler.drain(0);
  });

  test('one failure after successes starts the backoff from the interval again', async () => {
    const target = new ScriptedTarget(['ok', 'fail', 'ok', 'fail', 'fail']);
    const scheduler = new FlushScheduler('test', 100, target);
    await jest.advanceTimersByTimeAsync(1000);
    const gaps = target.times.slice(1, 6).map((t, i) => t - target.times[i]);
    // ok, fail (retry in 100), ok (interval), fail (100), fail (200), ok...
    expect(gaps).toEqual([100, 100, 100, 100, 200]);
    await scheduler.drain(0);
  });

  test('drain stops the timer: no flush runs afterwards', async () => {
    const target = new ScriptedTarget();
    const scheduler = new FlushScheduler('test', 1000, target);
    await scheduler.drain(1000);
    expect(scheduler.closed).toBe(true);
    expect(target.times).toEqual([0]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(target.times).toEqual([0]);
  });

  test('drain keeps flushing until nothing is pending', async () => {
    const target = new ScriptedTarget();
    let left = 3;
    target.flush = async function (this: ScriptedTarget) {
      this.times.push(Date.now());
      left--;
    };
    target.pendingCount = () => left;
    const scheduler = new FlushScheduler('test', 1000, target);
    await expect(scheduler.drain(1000)).resolves.toBe(true);
    expect(target.times).toHaveLength(3);
    expect(left).toBe(0);
  });

  test('drain retries a failing flush with backoff until it succeeds', async () => {
    const target = new ScriptedTarget(['fail', 'fail', 'fail']);
    target.pending = 4;
    const scheduler = new FlushScheduler('test', 1000, target);
    const drained = scheduler.drain(10_000);
    await jest.advanceTimersByTimeAsync(1000);
    await drained;
    // Retries after 100, 200, 400 ms.
    expect(target.times).toEqual([0, 100, 300, 700]);
    expect(target.pending).toBe(0);
    expect(errors).not.toHaveBeenCalled();
  });

  test('drain gives up at its deadline and logs what was lost', async () => {
    const target = new ScriptedTarget(Array<'fail'>(100).fill('fail'));
    target.pending = 7;
    const scheduler = new FlushScheduler('stats', 1000, target);
    let done = false;
    const drained = scheduler.drain(1000).finally(() => (done = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await drained).toBe(false);
    // 0, 100, 300, 700, then the last wait is cut to the deadline.
    expect(target.times).toEqual([0, 100, 300, 700, 1000]);
    expect(errors).toHaveBeenCalledWith('stats lost at shutdown: database unavailable', {
      pending: 7,
      error: 'database down',
    });
  });

  test('drain gives up on a flush that never answers at its deadline, logging "deadline passed"', async () => {
    const hung = deferred();
    const target = new ScriptedTarget([hung]);
    target.pending = 3;
    const scheduler = new FlushScheduler('device data', 1000, target);
    const drained = scheduler.drain(500);
    await jest.advanceTimersByTimeAsync(500);
    expect(await drained).toBe(false);
    expect(errors).toHaveBeenCalledWith('device data lost at shutdown: database unavailable', {
      pending: 3,
      error: 'deadline passed',
    });
    hung.resolve();
  });

  test('drain that writes a batch but not the backlog by its deadline logs "deadline passed"', async () => {
    // Each flush succeeds, writing one batch of a backlog larger than the deadline lets it
    // finish, and takes 100 ms of the clock: no flush fails and none is cut off by the deadline.
    const target = new ScriptedTarget();
    target.pending = 10;
    target.flush = () => {
      target.times.push(Date.now());
      target.pending -= 1;
      jest.setSystemTime(Date.now() + 100);
      return Promise.resolve();
    };
    const scheduler = new FlushScheduler('stats', 1000, target);
    expect(await scheduler.drain(250)).toBe(false);
    // No flush failed or was cut off: the reason logged is the deadline itself.
    expect(errors).toHaveBeenCalledWith('stats lost at shutdown: database unavailable', {
      pending: 7,
      error: 'deadline passed',
    });
    expect(target.times).toEqual([0, 100, 200]);
  });

  test('a scheduled flush that ends after drain began schedules nothing more', async () => {
    const slow = deferred();
    const target = new ScriptedTarget([slow]);
    const scheduler = new FlushScheduler('test', 1000, target);
    await jest.advanceTimersByTimeAsync(1000); // the timer's flush is in flight
    await scheduler.drain(0);
    slow.resolve();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(target.times).toEqual([1000, 1000]); // the timer's flush and drain's, nothing after
  });

  test('drain waits for a flush already in flight when the target joins it', async () => {
    const inFlight = deferred();
    const target = new ScriptedTarget([inFlight]);
    target.pending = 2;
    let running: Promise<void> | undefined;
    const flushOnce = target.flush.bind(target);
    // Like the batched writers: a flush asked for while one runs joins it.
    target.flush = () => (running ??= flushOnce().finally(() => (running = undefined)));
    const scheduler = new FlushScheduler('test', 1000, target);
    await jest.advanceTimersByTimeAsync(1000);
    let done = false;
    const drained = scheduler.drain(5000).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(100);
    expect(done).toBe(false);
    inFlight.resolve();
    await drained;
    expect(target.pending).toBe(0);
    expect(target.times).toEqual([1000]);
  });
});

describe("settleInFlight and beforeDeadline (the immediate writers' drain)", () => {
  /** Adds `p` to `set` until it settles, as the immediate writers track their writes. */
  const track = (set: Set<Promise<unknown>>, p: Promise<unknown>) => {
    const tracked: Promise<unknown> = p.then(
      () => set.delete(tracked),
      () => set.delete(tracked),
    );
    set.add(tracked);
  };

  test('nothing in flight: true at once', async () => {
    await expect(settleInFlight(new Set(), 0)).resolves.toBe(true);
  });

  test('waits for every write, a failed one included, and for writes started while it waits', async () => {
    const inFlight = new Set<Promise<unknown>>();
    const first = deferred();
    const second = deferred();
    track(inFlight, first.promise);
    let result: boolean | undefined;
    const settled = settleInFlight(inFlight, 10_000).then((r) => (result = r));
    await jest.advanceTimersByTimeAsync(50);
    track(inFlight, second.promise); // started meanwhile: waited for too
    first.reject(new Error('refused'));
    await jest.advanceTimersByTimeAsync(50);
    expect(result).toBeUndefined();
    second.resolve();
    await settled;
    expect(result).toBe(true);
    expect(Date.now()).toBe(100);
  });

  test('a write that never settles: false at the deadline, not before', async () => {
    const inFlight = new Set<Promise<unknown>>();
    track(inFlight, new Promise(() => undefined));
    await jest.advanceTimersByTimeAsync(5000); // a clock far from 0, so an inverted deadline shows
    let result: boolean | undefined;
    const settled = settleInFlight(inFlight, 1000).then((r) => (result = r));
    await jest.advanceTimersByTimeAsync(999);
    expect(result).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    await settled;
    expect(result).toBe(false);
  });

  test('beforeDeadline rejects with "deadline passed" at the deadline and clears its timer when the work ends first', async () => {
    await jest.advanceTimersByTimeAsync(5000);
    const late = beforeDeadline(new Promise(() => undefined), Date.now() + 1000);
    const outcome = late.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    await jest.advanceTimersByTimeAsync(1000);
    expect(await outcome).toBe('deadline passed');
    const timers = jest.getTimerCount();
    await beforeDeadline(Promise.resolve(), Date.now() + 60_000);
    expect(jest.getTimerCount()).toBe(timers);
  });
});

/** A Prisma stand-in for the batched writers: raw statements and createMany are recorded. */
function fakeDb() {
  const statements: unknown[][] = [];
  const inserts: DeviceRow[][] = [];
  let gate: Deferred | undefined;
  const db = {
    $executeRawUnsafe: async (sql: string, ...params: unknown[]) => {
      if (!sql.startsWith('INSERT INTO `DeviceData`')) return void statements.push(params);
      // The batched device-data writer's multi-row INSERT: 4 values a row, payload as JSON text.
      const batch: DeviceRow[] = [];
      for (let i = 0; i < params.length; i += 4) {
        const [endpointId, deviceId, payload, createdAt] = params.slice(i, i + 4) as [
          string,
          string,
          string,
          Date,
        ];
        batch.push({ endpointId, deviceId, payload: JSON.parse(payload), createdAt });
      }
      inserts.push(batch);
      if (gate) await gate.promise;
      return batch.length;
    },
    deviceData: {
      createMany: async ({ data }: { data: DeviceRow[] }) => {
        inserts.push([...data]);
        if (gate) await gate.promise;
        return { count: data.length };
      },
    },
  } as unknown as Db;
  return { db, statements, inserts, hold: (d?: Deferred) => (gate = d) };
}

const row = (i: number): DeviceRow => ({
  endpointId: 'ep',
  deviceId: `d${i}`,
  payload: { i },
  createdAt: new Date(0),
});

describe('early flush of a full buffer', () => {
  test('BatchedStats flushes as soon as maxPendingEndpoints endpoints are dirty, not before', async () => {
    const { db, statements } = fakeDb();
    const stats = new BatchedStats(db, {
      provider: 'sqlite',
      flushIntervalMs: 60_000,
      maxPendingEndpoints: 3,
    });
    stats.recordMessage('a');
    stats.recordMessage('b');
    stats.recordMessage('a');
    await jest.advanceTimersByTimeAsync(10);
    expect(statements).toHaveLength(0);
    stats.recordConnect('c');
    expect(statements).toHaveLength(0); // on the next turn, not inside the caller's event
    await jest.advanceTimersByTimeAsync(10);
    expect(statements).toHaveLength(1);
    expect(stats.pendingEndpoints).toBe(0);
    await stats.drain();
  });

  test('BatchedDeviceDataWriter writes a full batch at once, and one batch at a time', async () => {
    const { db, inserts, hold } = fakeDb();
    const writer = new BatchedDeviceDataWriter(db, {
      provider: 'sqlite',
      flushIntervalMs: 60_000,
      batchSize: 2,
      maxQueued: 100,
    });
    const gate = deferred();
    hold(gate);
    await writer.store(row(1));
    expect(inserts).toHaveLength(0);
    await writer.store(row(2));
    expect(inserts.map((b) => b.length)).toEqual([2]);
    // While that batch is in flight, a second full batch waits for it instead of starting another insert.
    await writer.store(row(3));
    await writer.store(row(4));
    expect(inserts).toHaveLength(1);
    hold();
    gate.resolve();
    await withTurns(writer.flush());
    expect(inserts.map((b) => b.map((r) => r.deviceId))).toEqual([
      ['d1', 'd2'],
      ['d3', 'd4'],
    ]);
    expect(writer.queued).toBe(0);
    await writer.drain();
  });

  test('drain writes what is pending in a batched writer, after the insert already in flight', async () => {
    const { db, inserts, hold } = fakeDb();
    const writer = new BatchedDeviceDataWriter(db, {
      provider: 'sqlite',
      flushIntervalMs: 1000,
      batchSize: 50,
      maxQueued: 100,
    });
    const gate = deferred();
    hold(gate);
    await writer.store(row(1));
    await jest.advanceTimersByTimeAsync(1000);
    expect(inserts).toHaveLength(1);
    await writer.store(row(2));
    let done = false;
    const drained = writer.drain().then(() => (done = true));
    await jest.advanceTimersByTimeAsync(50);
    expect(done).toBe(false);
    hold();
    gate.resolve();
    await withTurns(drained);
    expect(inserts.map((b) => b.map((r) => r.deviceId))).toEqual([['d1'], ['d2']]);
    expect(writer.queued).toBe(0);
  });
});

describe('each driver registers its own gauges', () => {
  function registry() {
    const gauges = new Map<string, () => number>();
    return { gauges, gauge: (name: string, _help: string, read: () => number) => gauges.set(name, read) };
  }

  test('batched drivers expose what they hold in memory; immediate ones register nothing', async () => {
    const { db } = fakeDb();
    const stats = new BatchedStats(db, {
      provider: 'sqlite',
      flushIntervalMs: 60_000,
      maxPendingEndpoints: 100,
    });
    const writer = new BatchedDeviceDataWriter(db, {
      provider: 'sqlite',
      flushIntervalMs: 60_000,
      batchSize: 50,
      maxQueued: 100,
    });
    const batched = registry();
    stats.registerMetrics(batched);
    writer.registerMetrics(batched);
    stats.recordMessage('a');
    stats.recordMessage('b');
    await writer.store(row(1));
    expect(batched.gauges.get('relay_stats_pending_endpoints')?.()).toBe(2);
    expect(batched.gauges.get('relay_device_data_queued')?.()).toBe(1);
    await Promise.all([stats.drain(), writer.drain()]);
    expect(batched.gauges.get('relay_stats_pending_endpoints')?.()).toBe(0);
    expect(batched.gauges.get('relay_device_data_queued')?.()).toBe(0);

    const immediate = registry();
    const drivers: (StatsStore | DeviceDataWriter)[] = [
      new ImmediateStats(db),
      new ImmediateDeviceDataWriter(db),
    ];
    for (const driver of drivers) driver.registerMetrics(immediate);
    expect(immediate.gauges.size).toBe(0);
  });
});
