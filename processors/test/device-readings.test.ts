import { parseDeviceFrame } from '../../backend/src/websocket/device-frame';
import { readNumber } from '../../backend/src/services/alert.service';
import {
  ALERT_RULES,
  ALERT_THRESHOLD,
  DeviceTallies,
  alertsFor,
  awaitStored,
  compareCounts,
  deviceIdFor,
  fires,
  readReadingSettings,
  readingNumber,
  readingValue,
  readingsUpTo,
  type DeviceTally,
} from '../lib/device-readings';
import { classifyFrame, encodeFrame, encodeReadingFrame, makePadding } from '../lib/frame';

const frame = {
  endpointSlot: 7,
  senderId: 2_000_031,
  seq: 12,
  dueAtMs: 1_764_000_000_123.456,
  sentAtMs: 1_764_000_000_124.5,
};

describe('which frames are readings', () => {
  it.each([0, 0.1, 0.5, 0.57, 1 / 3, 0.999999, 1])(
    'share %p: exactly floor(n * share) of the first n frames, each counted once, numbered 1, 2, 3...',
    (share) => {
      let numbered = 0;
      const wrong: unknown[] = [];
      for (let seq = 1; seq <= 2000; seq++) {
        const r = readingNumber(seq, share);
        if (r > 0 && r !== ++numbered) wrong.push({ seq, r, numbered });
        // the exact floor, from integer millionths (0.57 * 100 is 56.99... in floating point)
        const expected = Math.floor((seq * Math.round(share * 1e6)) / 1e6 + 1e-9);
        if (numbered !== expected || readingsUpTo(seq, share) !== expected)
          wrong.push({ seq, numbered, expected });
      }
      expect(wrong).toEqual([]);
    },
  );

  it('spreads readings evenly: at 10 % every 10th frame, at 50 % every other one', () => {
    const readingsAt = (share: number) =>
      Array.from({ length: 30 }, (_x, i) => i + 1).filter((seq) => readingNumber(seq, share) > 0);
    expect(readingsAt(0.1)).toEqual([10, 20, 30]);
    expect(readingsAt(0.5)).toEqual(Array.from({ length: 15 }, (_x, i) => 2 * (i + 1)));
    expect(readingsAt(1)).toHaveLength(30);
    expect(readingsAt(0)).toEqual([]);
  });
});

describe('which readings fire', () => {
  it('every alertEvery-th reading crosses the rule, no other does; alertsFor counts them', () => {
    for (const every of [1, 2, 10, 20]) {
      let fired = 0;
      for (let r = 1; r <= 100; r++) {
        const value = readingValue(r, every);
        const crosses = value > ALERT_THRESHOLD;
        expect([r, crosses]).toEqual([r, fires(r, every)]);
        if (crosses) fired++;
        expect(alertsFor(r, every)).toBe(fired);
      }
    }
  });

  it("the relay's own rule evaluation agrees: only the firing rule, only on firing readings", () => {
    const compare: Record<string, (v: number, t: number) => boolean> = {
      '>': (v, t) => v > t,
      '<': (v, t) => v < t,
    };
    for (let r = 1; r <= 40; r++) {
      const data = { value: readingValue(r, 4), e2e: 'x' };
      const firing = ALERT_RULES.filter((rule) =>
        compare[rule.operator](readNumber(data, rule.field)!, rule.threshold),
      );
      expect([r, firing.length]).toEqual([r, fires(r, 4) ? 1 : 0]);
    }
  });
});

describe('reading frames', () => {
  it('are device frames the relay accepts, carrying the load frame and its padding', () => {
    const text = encodeReadingFrame(frame, makePadding(128), deviceIdFor(3, 2), 17);
    const parsed = parseDeviceFrame(Buffer.from(text));
    expect(parsed).toEqual({
      frame: {
        type: 'device_data',
        deviceId: 'perf-t2-s3',
        data: { value: 17, e2e: encodeFrame(frame, makePadding(128)) },
      },
    });
  });

  it('are classified as the load frame they carry, from a string or a Buffer', () => {
    const text = encodeReadingFrame(frame, 'xxxx', 'perf-t1-s0', 1_000_001);
    const decoded = classifyFrame(text);
    expect(decoded).toEqual({ ...frame, dueAtMs: 1_764_000_000_123.456, sentAtMs: 1_764_000_000_124.5 });
    expect(classifyFrame(Buffer.from(text))).toEqual(decoded);
    expect(classifyFrame(encodeFrame(frame, 'xx'))).toEqual(decoded);
  });

  it("tells the relay's alert and error frames apart from load frames and from junk", () => {
    expect(classifyFrame(JSON.stringify({ type: 'alert', id: 1, ruleId: 2, deviceId: 'd', value: 3 }))).toBe(
      'alert',
    );
    expect(classifyFrame(JSON.stringify({ type: 'error', message: 'device data queue is full' }))).toBe(
      'error',
    );
    expect(classifyFrame('{"type":"device_data","deviceId":"d","data":{"v":1}}')).toBeNull();
    expect(classifyFrame('{"type":"device_data","data":{"e2e":"1:2:3')).toBeNull();
    expect(classifyFrame('{"type":"device_data","data":{"e2e":"not:a:frame:at:all"}}')).toBeNull();
    expect(classifyFrame('hello')).toBeNull();
    expect(classifyFrame(42)).toBeNull();
  });
});

describe('settings', () => {
  it('default to no readings, every 10th firing, a 30 s check', () => {
    expect(readReadingSettings({})).toEqual({ share: 0, alertEvery: 10, checkMs: 30_000 });
    expect(readReadingSettings({ deviceDataShare: '0.5', alertEvery: 2, readingsCheckMs: 0 })).toEqual({
      share: 0.5,
      alertEvery: 2,
      checkMs: 0,
    });
  });

  it.each([
    [{ deviceDataShare: 1.5 }, /deviceDataShare must be a number from 0 to 1/],
    [{ deviceDataShare: -0.1 }, /deviceDataShare/],
    [{ deviceDataShare: 'half' }, /deviceDataShare/],
    [{ alertEvery: 0 }, /alertEvery must be an integer from 1 to 1000/],
    [{ alertEvery: 2.5 }, /alertEvery/],
    [{ alertEvery: 1001 }, /alertEvery/],
    [{ readingsCheckMs: -1 }, /readingsCheckMs/],
  ])('refuse %p', (vars, message) => {
    expect(() => readReadingSettings(vars)).toThrow(message);
  });
});

describe('the stored check', () => {
  const tally = (over: Partial<DeviceTally>): DeviceTally => ({
    endpointId: 'ep',
    deviceId: 'dev',
    sent: 0,
    refused: 0,
    firing: 0,
    ...over,
  });

  it('one device per endpoint slot in a thread, ids unique per thread and slot', () => {
    const t = new DeviceTallies();
    const a = t.of(0, 'ep0');
    a.sent++;
    expect(t.of(0, 'ep0')).toBe(a);
    t.of(1, 'ep1');
    expect(t.all().map((d) => [d.endpointId, d.sent])).toEqual([
      ['ep0', 1],
      ['ep1', 0],
    ]);
    expect(new Set([deviceIdFor(0, 1), deviceIdFor(1, 1), deviceIdFor(0, 2), deviceIdFor(10, 1)]).size).toBe(
      4,
    );
  });

  it('compares stored with sent minus refused and alerts with firing, device by device', () => {
    const devices = [
      tally({ deviceId: 'a', sent: 10, refused: 2, firing: 3 }),
      tally({ deviceId: 'b', sent: 5, firing: 1 }),
    ];
    const ok = compareCounts(devices, [
      { readings: 8, alerts: 3 },
      { readings: 5, alerts: 1 },
    ]);
    expect(ok).toEqual({ stored: 13, fired: 4, accepted: 13, expectedAlerts: 4, mismatches: [] });
    // Totals that match while two devices are off by one each are still a mismatch.
    const off = compareCounts(devices, [
      { readings: 9, alerts: 3 },
      { readings: 4, alerts: 1 },
    ]);
    expect(off.stored).toBe(off.accepted);
    expect(off.mismatches).toEqual([
      'a on ep: 9 stored of 8 accepted (10 sent, 2 refused), 3 alerts of 3 expected',
      'b on ep: 4 stored of 5 accepted (5 sent, 0 refused), 1 alerts of 1 expected',
    ]);
    expect(
      compareCounts(devices, [
        { readings: 8, alerts: 2 },
        { readings: 5, alerts: 1 },
      ]).mismatches,
    ).toHaveLength(1);
  });

  it('waits until the writer has caught up, then stops', async () => {
    const devices = [tally({ sent: 4, firing: 1 })];
    let calls = 0;
    const result = await awaitStored(
      devices,
      async () => ({ readings: Math.min(4, ++calls), alerts: 1 }),
      5000,
      1,
    );
    expect(calls).toBe(4);
    expect(result.outcome?.mismatches).toEqual([]);
    expect(result.error).toBeUndefined();
  });

  it('gives up at the deadline with the last counts, and reports a count that could not be read', async () => {
    const devices = [tally({ sent: 4 })];
    const short = await awaitStored(devices, async () => ({ readings: 3, alerts: 0 }), 30, 5);
    expect(short.outcome?.stored).toBe(3);
    expect(short.outcome?.mismatches).toHaveLength(1);
    expect(short.waitedMs).toBeGreaterThanOrEqual(30);
    const failing = await awaitStored(
      devices,
      async () => {
        throw new Error('GET -> 503');
      },
      20,
      5,
    );
    expect(failing).toMatchObject({ outcome: null, error: 'GET -> 503' });
  });

  it('abandons a poll that is still running at the deadline', async () => {
    const started = Date.now();
    const hung = await awaitStored([tally({ sent: 1 })], () => new Promise<never>(() => undefined), 50, 5);
    expect(hung.outcome).toBeNull();
    expect(hung.error).toMatch(/counting took longer than the 50 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
