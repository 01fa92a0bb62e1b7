/**
 * The device-reading gates of artillery/common.yml, evaluated by artillery-plugin-ensure itself
 * (its own metric-name substitution and filtrex), on counters like those the processor emits:
 * a scenario without readings passes them, and each way of losing a reading or an alert fails
 * its gate.
 */
import path from 'node:path';
import { IOT_COUNTERS } from '../../processors/lib/metric-names';
import { loadSharedGates } from '../gates';

const { Plugin: Ensure } = require('artillery-plugin-ensure') as {
  Plugin: {
    statsToVars(data: {
      report: { counters: Record<string, number>; rates: Record<string, number> };
    }): Record<string, unknown>;
    runChecks(
      checks: { conditions: { expression: string }[] },
      vars: Record<string, unknown>,
    ): { original: string; result: unknown }[];
  };
};

const COMMON = path.resolve(__dirname, '..', '..', 'artillery', 'common.yml');
const iotConditions = loadSharedGates(COMMON).conditions.filter((c) => c.expression.includes('iot.'));

/** ensure's verdict per IoT expression for these counters (every IoT counter present, as the processor announces them). */
function verdicts(counters: Partial<Record<keyof typeof IOT_COUNTERS, number>>): Record<string, boolean> {
  const all: Record<string, number> = {};
  for (const [key, name] of Object.entries(IOT_COUNTERS))
    all[name] = counters[key as keyof typeof IOT_COUNTERS] ?? 0;
  const g = globalThis as { artillery?: { log: () => void } };
  const saved = g.artillery;
  g.artillery = { log: () => undefined };
  try {
    const checks = Ensure.runChecks(
      { conditions: iotConditions },
      Ensure.statsToVars({ report: { counters: all, rates: {} } }),
    );
    return Object.fromEntries(checks.map((c) => [c.original, c.result === 1]));
  } finally {
    g.artillery = saved;
  }
}

const STORED = 'iot.readings_stored == iot.readings_sent - iot.readings_refused';
const REFUSED = 'iot.readings_refused == 0';
const ALERTS = 'iot.alerts_fired == iot.alerts_expected';

describe('device-reading gates (artillery/common.yml, judged by ensure)', () => {
  it('are the three exact checks', () => {
    expect(iotConditions.map((c) => c.expression)).toEqual([STORED, REFUSED, ALERTS]);
  });

  it('hold for a scenario that sends no readings (every counter announced as 0)', () => {
    expect(verdicts({})).toEqual({ [STORED]: true, [REFUSED]: true, [ALERTS]: true });
  });

  it('hold when every reading is stored and every expected alert fired', () => {
    const ok = {
      sent: 20_000,
      stored: 20_000,
      alertsExpected: 1_000,
      alertsFired: 1_000,
      alertFrames: 10_000,
    };
    expect(verdicts(ok)).toEqual({ [STORED]: true, [REFUSED]: true, [ALERTS]: true });
  });

  it('fail the stored gate for one reading missing, and for one stored twice', () => {
    expect(verdicts({ sent: 20_000, stored: 19_999 })[STORED]).toBe(false);
    expect(verdicts({ sent: 20_000, stored: 20_001 })[STORED]).toBe(false);
  });

  it('fail the refused gate when the relay answered readings with errors, even if the rest was stored', () => {
    const v = verdicts({ sent: 20_000, refused: 3, stored: 19_997 });
    expect(v).toEqual({ [STORED]: true, [REFUSED]: false, [ALERTS]: true });
  });

  it('fail the alert gate for one alert missing or one too many', () => {
    expect(verdicts({ alertsExpected: 50, alertsFired: 49 })[ALERTS]).toBe(false);
    expect(verdicts({ alertsExpected: 50, alertsFired: 51 })[ALERTS]).toBe(false);
  });
});
