import path from 'node:path';
import { applyOverrides, asInformational, loadSharedGates, parseCheckLines } from '../gates';

const COMMON = path.resolve(__dirname, '..', '..', 'artillery', 'common.yml');

describe('shared gates', () => {
  const gates = loadSharedGates(COMMON);

  it('define every SLO of the issue in artillery/common.yml', () => {
    expect(gates.thresholds).toEqual([]);
    expect(gates.latencyLimits).toEqual({ latencyP95LimitMs: 100, latencyP99LimitMs: 250 });
    const expressions = gates.conditions.map((c) => c.expression);
    expect(expressions).toEqual([
      'e2e.latency_over_p95_limit <= 0.05 * e2e.frames_delivered',
      'e2e.latency_over_p99_limit <= 0.01 * e2e.frames_delivered',
      'e2e.frames_lost == 0',
      'e2e.frames_duplicated + e2e.frames_misrouted == 0',
      'vusers.failed == 0',
      'e2e.frames_sent >= 0.95 * e2e.frames_due',
      'iot.readings_stored == iot.readings_sent - iot.readings_refused',
      'iot.readings_refused == 0',
      'iot.alerts_fired == iot.alerts_expected',
    ]);
  });

  it('never gate on p999 (ensure would corrupt the expression)', () => {
    expect(JSON.stringify(gates)).not.toContain('p999');
  });

  it('take overrides from the runner', () => {
    const o = applyOverrides(gates, { p95Ms: 0.001, maxLost: 3, minSendRatio: 0.9 });
    // A latency limit is a processor variable; the expressions stay as they are.
    expect(o.latencyLimits).toEqual({ latencyP95LimitMs: 0.001, latencyP99LimitMs: 250 });
    expect(applyOverrides(gates, { p99Ms: 40 }).latencyLimits).toEqual({
      latencyP95LimitMs: 100,
      latencyP99LimitMs: 40,
    });
    expect(applyOverrides(gates, {}).latencyLimits).toEqual(gates.latencyLimits);
    const expressions = o.conditions.map((c) => c.expression);
    expect(expressions).toContain('e2e.frames_lost <= 3');
    expect(expressions).toContain('e2e.frames_sent >= 0.9 * e2e.frames_due');
  });

  it('become non-strict conditions for informational scenarios', () => {
    const info = asInformational(gates);
    expect(info.thresholds).toEqual([]);
    expect(info.conditions).toContainEqual({
      expression: 'e2e.latency_over_p95_limit <= 0.05 * e2e.frames_delivered',
      strict: false,
    });
    expect(info.latencyLimits).toEqual(gates.latencyLimits);
    expect(info.conditions.every((c) => c.strict === false)).toBe(true);
  });
});

describe('parseCheckLines', () => {
  it("reads ensure's verdicts, colour codes and all", () => {
    const out = [
      'Log file: x.json',
      '',
      'Checks:',
      '\u001b[32mok\u001b[39m: e2e.frames_lost == 0',
      '\u001b[31mfail\u001b[39m: e2e.latency_ms.p95 < 0.001',
      'fail: e2e.latency_ms.p99 < 250 (optional)',
    ].join('\n');
    expect(parseCheckLines(out)).toEqual([
      { expression: 'e2e.frames_lost == 0', passed: true, strict: true },
      { expression: 'e2e.latency_ms.p95 < 0.001', passed: false, strict: true },
      { expression: 'e2e.latency_ms.p99 < 250', passed: false, strict: false },
    ]);
  });

  it('returns nothing when Artillery never got to the checks', () => {
    expect(parseCheckLines('Error: boom')).toEqual([]);
  });
});
