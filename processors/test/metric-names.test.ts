import { ALL_METRIC_NAMES } from '../lib/metric-names';

describe('metric names', () => {
  // artillery-plugin-ensure substitutes names into gate expressions with String.replace,
  // so one name inside another corrupts the expression and the gate silently misreads.
  it('are never substrings of each other', () => {
    for (const a of ALL_METRIC_NAMES) {
      for (const b of ALL_METRIC_NAMES) {
        if (a !== b) expect(`${b} contains ${a}: ${b.includes(a)}`).toBe(`${b} contains ${a}: false`);
      }
    }
  });

  it('do not collide with the names Artillery itself emits', () => {
    const builtIn = [
      'vusers.created',
      'vusers.completed',
      'vusers.failed',
      'vusers.session_length',
      'websocket.messages_sent',
    ];
    for (const a of ALL_METRIC_NAMES)
      for (const b of builtIn) expect(b.includes(a) || a.includes(b)).toBe(false);
  });
});
