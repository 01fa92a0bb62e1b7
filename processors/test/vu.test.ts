import { threadId } from 'node:worker_threads';
import * as frameModule from '../lib/frame';
import { encodeFrame, encodeReadingFrame, type Frame } from '../lib/frame';
import { IntervalLatency, newLatencySet, type LatencySet } from '../lib/latency';
import { Ledger, Receiver } from '../lib/ledger';
import { IOT_COUNTERS } from '../lib/metric-names';
import { ID_STRIDE } from '../lib/targets';
import {
  clusterPlacementOf,
  createScenarioEndpoints,
  endpointsFrom,
  frameListener,
  joinEndpoint,
  senderId,
  type DeliverySink,
  type VuContext,
  type WsArgs,
} from '../lib/vu';
import type { WorkerStats } from '../lib/worker-stats';
import { useStubServer } from './helpers/stub-server';

/*
 * processors/lib/vu.ts runs inside Artillery's worker threads in a real run, where Jest sees
 * none of it; these tests call it in process with the ledger, latency and frame code it uses
 * for real and a WorkerStats that records what it is told.
 */

const ENV_KEYS = ['TARGET', 'TARGETS', 'API_KEY', 'RELAY_PERF_RUN_ID'] as const;
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
beforeEach(() => {
  for (const k of ENV_KEYS) delete process.env[k];
});
afterAll(() => {
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

const eps = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: `ep ${from + i}/x`, token: `t&${from + i}` }));

describe('endpointsFrom', () => {
  test.each([[{}], [{ relayEndpoints: [] }], [{ relayEndpoints: 'ep' }], [{ relayEndpoints: null }]])(
    '%j: no endpoints is an error naming the before hook',
    (vars) => {
      expect(() => endpointsFrom(vars)).toThrow(
        'no relay endpoints in context: the scenario needs `before: { flow: [{ function: createEndpoints }] }`',
      );
    },
  );

  test('returns the list the before hook stored', () => {
    const list = eps(2);
    expect(endpointsFrom({ relayEndpoints: list })).toBe(list);
  });
});

describe('joinEndpoint', () => {
  const join = (vars: Record<string, unknown>, index: number) => {
    const wsArgs: WsArgs = { target: 'unset' };
    const context: VuContext = { vars };
    const slot = joinEndpoint(wsArgs, context, index);
    return { slot, url: wsArgs.target, vars: context.vars };
  };

  test('VUs join the endpoints round robin, with the encoded id and token in the URL', () => {
    const vars = { endpoints: 3, relayEndpoints: eps(3), target: 'ws://relay:9000/' };
    const joined = [0, 1, 2, 3, 4, 5].map((i) => join({ ...vars }, i));
    expect(joined.map((j) => j.slot)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(joined[4].url).toBe('ws://relay:9000/ws/ep%201%2Fx?token=t%261');
    expect(joined[4].vars).toMatchObject({ __slot: 1, __targetIndex: 0, __targets: 1, __endpointCount: 3 });
    expect(typeof joined[4].vars.__connectStartedAt).toBe('number');
  });

  test("a generator's VUs use its own endpoints and carry the global slot", () => {
    // 5 endpoints over 2 generators: generator 1 owns a contiguous share after generator 0's.
    const vars = { endpoints: 5, generatorCount: 2, generatorIndex: 1, relayEndpoints: eps(2, 3) };
    const joined = [0, 1, 2].map((i) => join({ ...vars }, i));
    expect(joined.map((j) => j.slot)).toEqual([3, 4, 3]);
    expect(joined[1].url).toBe('ws://127.0.0.1:8080/ws/ep%204%2Fx?token=t%264');
    expect(joined[0].vars.__endpointCount).toBe(2);
  });

  test('more endpoints in context than the scenario plans: only the planned ones are joined', () => {
    const joined = [0, 1, 2].map((i) => join({ endpoints: 2, relayEndpoints: eps(3) }, i));
    expect(joined.map((j) => j.slot)).toEqual([0, 1, 0]);
    expect(joined[0].vars.__endpointCount).toBe(2);
  });

  test('every trailing slash of the target is dropped before the path', () => {
    expect(join({ relayEndpoints: eps(1), target: 'ws://relay:9000///' }, 0).url).toMatch(
      /^ws:\/\/relay:9000\/ws\/ep/,
    );
  });

  test('TARGET wins over the scenario target; the default is the local relay', () => {
    process.env.TARGET = 'ws://from-env:1';
    expect(join({ relayEndpoints: eps(1), target: 'ws://from-vars:2' }, 0).url).toMatch(
      /^ws:\/\/from-env:1\/ws\//,
    );
    delete process.env.TARGET;
    expect(join({ relayEndpoints: eps(1) }, 0).url).toMatch(/^ws:\/\/127\.0\.0\.1:8080\/ws\//);
  });

  test("with TARGETS, each endpoint's connections go round robin over the relay processes", () => {
    process.env.TARGETS = 'ws://a:1/, ws://b:2';
    const vars = { endpoints: 2, relayEndpoints: eps(2) };
    // index -> (slot, rank) = (index mod 2, index div 2); process = (slot + rank) mod 2
    const joined = [0, 1, 2, 3].map((i) => join({ ...vars }, i));
    expect(joined.map((j) => j.url.slice(0, 10))).toEqual([
      'ws://a:1/w',
      'ws://b:2/w',
      'ws://b:2/w',
      'ws://a:1/w',
    ]);
    expect(joined.map((j) => j.vars.__targetIndex)).toEqual([0, 1, 1, 0]);
    expect(joined[0].vars.__targets).toBe(2);
  });

  test('no endpoints, or TARGETS that are not ws:// URLs, are errors', () => {
    expect(() => join({}, 0)).toThrow('no relay endpoints in context');
    process.env.TARGETS = 'http://a:1';
    expect(() => join({ relayEndpoints: eps(1) }, 0)).toThrow(
      'TARGETS: "http://a:1" is not a ws:// or wss:// URL',
    );
  });
});

describe('clusterPlacementOf', () => {
  test.each([[{}], [{ __targets: 1 }], [{ __targets: 0 }], [{ __targets: 'x' }]])(
    '%j: one relay process, no placement',
    (vars) => {
      expect(clusterPlacementOf(vars)).toBeUndefined();
    },
  );

  test('several processes: the VU’s process and the endpoint count', () => {
    expect(clusterPlacementOf({ __targets: 3, __targetIndex: 2, __endpointCount: 50 })).toEqual({
      targets: 3,
      myTarget: 2,
      endpointCount: 50,
    });
    expect(clusterPlacementOf({ __targets: 2, __endpointCount: 4 })).toEqual({
      targets: 2,
      myTarget: 0,
      endpointCount: 4,
    });
  });
});

describe('senderId', () => {
  test('generator and thread in the high digits, the counter below ID_STRIDE', () => {
    expect(senderId(7)).toBe(threadId * ID_STRIDE + 7);
    expect(senderId(7, 2)).toBe((2 * 1000 + threadId) * ID_STRIDE + 7);
    expect(senderId(7, 2) % ID_STRIDE).toBe(7);
    expect(new Set([senderId(1, 0), senderId(1, 1), senderId(2, 0)]).size).toBe(3);
  });
});

describe('createScenarioEndpoints', () => {
  const { stub, base: baseOf } = useStubServer();
  let base: string;
  beforeEach(() => (base = baseOf()));

  test("creates this generator's share of endpoints, named by run and global slot, and stores them", async () => {
    process.env.API_KEY = 'k3y';
    process.env.RELAY_PERF_RUN_ID = 'run7';
    stub.reply(201, { id: 'x', token: 'y' });
    const context: VuContext = {
      vars: { target: base.replace('http', 'ws'), endpoints: 5, generatorCount: 2, generatorIndex: 1 },
    };
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const out = await createScenarioEndpoints(context, '/tmp/lat');
      expect(out.base).toBe(base);
      expect(out.created).toHaveLength(2);
      expect(out.settings.slice).toEqual({ index: 1, generators: 2, offset: 3, count: 2 });
      expect(stub.seen).toHaveLength(2);
      expect(stub.seen.map((r) => JSON.parse(r.body).name).sort()).toEqual(['perf-run7-3', 'perf-run7-4']);
      expect(stub.seen.every((r) => r.headers.authorization === 'Bearer k3y')).toBe(true);
      expect(context.vars.relayEndpoints).toBe(out.created);
      expect(context.vars.latencyDir).toBe('/tmp/lat');
      expect(log).toHaveBeenCalledWith(
        expect.stringMatching(new RegExp(`^created 2 endpoints on ${base} in \\d+ ms$`)),
      );
    } finally {
      log.mockRestore();
    }
  });

  test('without RELAY_PERF_RUN_ID the names carry a fresh 8-character run tag; the log gives the elapsed ms', async () => {
    delete process.env.RELAY_PERF_RUN_ID;
    stub.reply(201, { id: 'x', token: 'y' });
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await createScenarioEndpoints({ vars: { target: base.replace('http', 'ws'), endpoints: 1 } }, '/tmp/l');
      await createScenarioEndpoints({ vars: { target: base.replace('http', 'ws'), endpoints: 1 } }, '/tmp/l');
      const names = stub.seen.map((r) => JSON.parse(r.body).name as string);
      for (const name of names) expect(name).toMatch(/^perf-[0-9a-f]{8}-0$/);
      expect(names[0]).not.toBe(names[1]);
      const ms = Number(/in (\d+) ms$/.exec(String(log.mock.calls[0][0]))?.[1]);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(60_000);
    } finally {
      log.mockRestore();
    }
  });

  test('a refusal is an error naming the relay, and no endpoints are stored', async () => {
    stub.reply(401, 'unauthorized');
    const context: VuContext = { vars: { target: base.replace('http', 'ws'), endpoints: 1 } };
    await expect(createScenarioEndpoints(context, '/tmp/lat')).rejects.toThrow(
      `could not create endpoints on ${base}: POST ${base}/api/endpoints -> 401 unauthorized (is API_KEY set?)`,
    );
    expect(context.vars.relayEndpoints).toBeUndefined();
  });
});

describe('frameListener', () => {
  /** A WorkerStats that records add() outcomes and count() names. */
  function recordingStats() {
    const added: string[] = [];
    const counted: string[] = [];
    const stats = {
      add: (k: string) => added.push(k),
      count: (name: string) => counted.push(name),
    } as unknown as WorkerStats;
    return { stats, added, counted };
  }

  const ME = 11;
  const SLOT = 4;
  const PEER = 12;
  const frame = (f: Partial<Frame>): Frame => ({
    endpointSlot: SLOT,
    senderId: PEER,
    seq: 1,
    dueAtMs: 1000,
    sentAtMs: 1000,
    ...f,
  });

  function setup(opts: { cluster?: DeliverySink['cluster']; p95?: number; p99?: number } = {}) {
    const receiver = new Receiver(ME, SLOT);
    const { stats, added, counted } = recordingStats();
    const latency: LatencySet = newLatencySet();
    const intended = new IntervalLatency(latency.intended);
    const hooks = { onDelivered: jest.fn(), onRefused: jest.fn() };
    const listen = frameListener(
      receiver,
      {
        stats,
        latency,
        intended,
        settings: { latencyP95LimitMs: opts.p95 ?? 100, latencyP99LimitMs: opts.p99 ?? 250 },
        cluster: opts.cluster,
      },
      hooks,
    );
    return { receiver, listen, added, counted, latency, intended, hooks };
  }

  /** A due time `ms` before now on the clock the listener stamps with (frame.ts nowMs). */
  const dueAgo = (ms: number) => frameModule.nowMs() - ms;

  /**
   * Stops the listener's clock (frame.ts nowMs) at an integer instant, so a frame due `ms`
   * before it arrives exactly `ms` late.
   */
  function frozenClock(): void {
    jest.spyOn(frameModule, 'nowMs').mockReturnValue(1e12 + 5000);
  }
  afterEach(() => {
    jest.restoreAllMocks();
  });

  test('an owed frame is delivered: counted once, both latencies recorded, the hook called', () => {
    const t = setup();
    t.receiver.owe(PEER, 1);
    const due = dueAgo(40);
    t.listen(encodeFrame(frame({ dueAtMs: due, sentAtMs: due + 30 }), 'pad'));
    expect(t.added).toEqual(['delivered']);
    // Intended latency: one record, into the open interval; the run's histogram gets it when the interval closes.
    expect(t.intended.interval.totalCount).toBe(1);
    expect(t.latency.intended.totalCount).toBe(0);
    expect(t.latency.sent.totalCount).toBe(1);
    // from the intended send: ~40 ms; from the actual send: ~10 ms (HDR keeps 3 digits)
    expect(t.intended.interval.maxValue).toBeGreaterThan(t.latency.sent.maxValue);
    t.intended.close(false);
    expect(t.latency.intended.totalCount).toBe(1);
    expect(t.latency.local.totalCount + t.latency.cross.totalCount).toBe(0);
    expect(t.hooks.onDelivered).toHaveBeenCalledTimes(1);
  });

  test('the same frame again is a duplicate: no latency, no hook; a frame carried in a reading counts like a plain one', () => {
    const t = setup();
    t.receiver.owe(PEER, 1);
    t.receiver.owe(PEER, 2);
    t.listen(Buffer.from(encodeFrame(frame({ dueAtMs: dueAgo(1) }), '')));
    t.listen(encodeFrame(frame({ dueAtMs: dueAgo(1) }), ''));
    t.listen(encodeReadingFrame(frame({ seq: 2, dueAtMs: dueAgo(1) }), '', 'dev-1', 3));
    expect(t.added).toEqual(['delivered', 'duplicated', 'delivered']);
    expect(t.intended.interval.totalCount).toBe(2);
    expect(t.hooks.onDelivered).toHaveBeenCalledTimes(2);
  });

  test('a late frame that fills a gap counts as reordered and as delivered', () => {
    const t = setup();
    for (const seq of [1, 2, 3]) t.receiver.owe(PEER, seq);
    t.listen(encodeFrame(frame({ seq: 1, dueAtMs: dueAgo(1) }), ''));
    t.listen(encodeFrame(frame({ seq: 3, dueAtMs: dueAgo(1) }), ''));
    t.listen(encodeFrame(frame({ seq: 2, dueAtMs: dueAgo(1) }), ''));
    expect(t.added).toEqual(['delivered', 'delivered', 'reordered', 'delivered']);
    expect(t.intended.interval.totalCount).toBe(3);
    expect(t.hooks.onDelivered).toHaveBeenCalledTimes(3);
  });

  test("another endpoint's frame, our own, and an unowed one: misrouted, misrouted, extra, no latency", () => {
    const t = setup();
    t.receiver.owe(PEER, 1);
    t.listen(encodeFrame(frame({ endpointSlot: SLOT + 1 }), ''));
    t.listen(encodeFrame(frame({ senderId: ME }), ''));
    t.listen(encodeFrame(frame({ seq: 5 }), ''));
    expect(t.added).toEqual(['misrouted', 'misrouted', 'extra']);
    expect(t.intended.interval.totalCount).toBe(0);
    expect(t.hooks.onDelivered).not.toHaveBeenCalled();
  });

  test("an unowed frame is uncounted when its send stamp lies outside the receiver's counting interval, extra inside it", () => {
    const t = setup();
    new Ledger().join(t.receiver, 2000);
    t.listen(encodeFrame(frame({ seq: 5, sentAtMs: 1999.5 }), '')); // sent before the join
    t.listen(encodeFrame(frame({ seq: 6, sentAtMs: 2000.5 }), '')); // sent while counting
    t.receiver.stopCounting(3000);
    t.listen(encodeFrame(frame({ seq: 7, sentAtMs: 3000 }), '')); // sent once it stopped
    expect(t.added).toEqual(['uncounted', 'extra', 'uncounted']);
    expect(t.intended.interval.totalCount).toBe(0);
    expect(t.hooks.onDelivered).not.toHaveBeenCalled();
  });

  test("the relay's alert and error frames are counted under their own names, never as deliveries", () => {
    const t = setup();
    t.listen('{"type":"alert","ruleId":1}');
    t.listen('{"type":"error","error":"device data not stored"}');
    t.listen(Buffer.from('{"type":"error"}'));
    expect(t.counted).toEqual([IOT_COUNTERS.alertFrames, IOT_COUNTERS.refused, IOT_COUNTERS.refused]);
    expect(t.hooks.onRefused).toHaveBeenCalledTimes(2);
    expect(t.added).toEqual([]);
  });

  test.each([['not a frame'], ['{"type":"device_data"}'], [42], [null]])(
    'anything else (%j) is extra',
    (data) => {
      const t = setup();
      t.listen(data);
      expect(t.added).toEqual(['extra']);
      expect(t.counted).toEqual([]);
    },
  );

  test('deliveries later than the p95 and p99 limits are counted against each, strictly past the limit', () => {
    frozenClock();
    const t = setup({ p95: 50, p99: 200 });
    const lateBy = [10, 50, 51, 200, 201];
    lateBy.forEach((_ms, i) => t.receiver.owe(PEER, i + 1));
    lateBy.forEach((ms, i) => t.listen(encodeFrame(frame({ seq: i + 1, dueAtMs: dueAgo(ms) }), '')));
    expect(t.added).toEqual([
      'delivered', // 10
      'delivered', // 50: at the p95 limit, not over it
      'delivered', // 51
      'overP95',
      'delivered', // 200: over p95, at the p99 limit
      'overP95',
      'delivered', // 201
      'overP95',
      'overP99',
    ]);
    expect(t.intended.interval.maxValue).toBe(201_000); // µs (latency.ts recordMs)
  });

  test('a limit of 0 counts every delivery over it (a frame cannot arrive before it was due)', () => {
    const t = setup({ p95: 0, p99: 0 });
    t.receiver.owe(PEER, 1);
    t.listen(encodeFrame(frame({ dueAtMs: dueAgo(5) }), ''));
    expect(t.added).toEqual(['delivered', 'overP95', 'overP99']);
  });

  test('in a cluster run each delivery is also recorded as same-process or across Redis', () => {
    frozenClock();
    // 2 endpoints, 2 processes: sender counter c sits on process ((c mod 2) + floor(c / 2)) mod 2.
    const t = setup({ cluster: { targets: 2, myTarget: 0, endpointCount: 2 } });
    const sameProcess = 4; // slot 0, rank 2 -> process 0
    const otherProcess = 1; // slot 1, rank 0 -> process 1
    for (const s of [sameProcess, otherProcess]) t.receiver.owe(s, 1);
    t.listen(encodeFrame(frame({ senderId: sameProcess, dueAtMs: dueAgo(3) }), ''));
    t.listen(encodeFrame(frame({ senderId: otherProcess, dueAtMs: dueAgo(40) }), ''));
    t.listen(encodeFrame(frame({ senderId: otherProcess, dueAtMs: dueAgo(40) }), '')); // duplicate
    expect([t.latency.local.totalCount, t.latency.cross.totalCount]).toEqual([1, 1]);
    expect([t.latency.local.maxValue, t.latency.cross.maxValue]).toEqual([3_000, 40_000]); // µs
    expect(t.intended.interval.totalCount).toBe(2);
  });
});
