/**
 * Which scenario files exist, what they measure, and how long each profile runs them.
 *
 * The scenario files hold the spec's shape (endpoints, connections, msg/s) and
 * the full-length durations; a profile only shortens them. Durations here are
 * the send window per rate step; connection ramp, settle and drain come on top.
 */
export type ProfileName = 'smoke' | 'quick' | 'full';
export const PROFILES: readonly ProfileName[] = ['smoke', 'quick', 'full'];

export interface ScenarioSpec {
  name: string;
  family:
    | 'single-endpoint'
    | 'multi-endpoint'
    | 'throughput'
    | 'iot'
    | 'throughput-ramp'
    | 'stability'
    | 'acceptance'
    | 'connections';
  /** artillery/<file>.yml */
  file: string;
  summary: string;
  /**
   * Gates are evaluated and reported but do not fail the run. Only for the ramp,
   * which is built to find the breaking point and therefore must break.
   */
  informational?: boolean;
  /** Send window per rate step (holdSeconds) and connection ramp per profile; absent = not in that profile. */
  profiles: Partial<Record<ProfileName, { holdSeconds: number; rampSeconds: number }>>;
}

const conn = (hold: number, ramp: number) => ({ holdSeconds: hold, rampSeconds: ramp });

// Order matters: the ramp overloads the relay on purpose, so it runs after the
// scenarios whose numbers it could disturb (the runner also waits for the relay
// to go idle between scenarios).
export const SCENARIOS: readonly ScenarioSpec[] = [
  {
    name: 'single-endpoint-10',
    family: 'single-endpoint',
    file: 'single-endpoint-10.yml',
    summary: '1 endpoint x 10 connections, 1 msg/s per connection',
    profiles: { smoke: conn(5, 2), quick: conn(20, 3), full: conn(120, 5) },
  },
  {
    name: 'single-endpoint-20',
    family: 'single-endpoint',
    file: 'single-endpoint-20.yml',
    summary: '1 endpoint x 20 connections, 1 msg/s per connection',
    profiles: { quick: conn(20, 3), full: conn(120, 5) },
  },
  {
    name: 'single-endpoint-50',
    family: 'single-endpoint',
    file: 'single-endpoint-50.yml',
    summary: '1 endpoint x 50 connections, 1 msg/s per connection',
    profiles: { quick: conn(20, 3), full: conn(120, 5) },
  },
  {
    name: 'multi-endpoint-10x5',
    family: 'multi-endpoint',
    file: 'multi-endpoint-10x5.yml',
    summary: '10 endpoints x 5 connections, 1 msg/s per connection',
    profiles: { smoke: conn(5, 2), quick: conn(20, 3), full: conn(120, 5) },
  },
  {
    name: 'multi-endpoint-50x5',
    family: 'multi-endpoint',
    file: 'multi-endpoint-50x5.yml',
    summary: '50 endpoints x 5 connections, 1 msg/s per connection',
    profiles: { quick: conn(20, 5), full: conn(120, 10) },
  },
  {
    name: 'multi-endpoint-100x5',
    family: 'multi-endpoint',
    file: 'multi-endpoint-100x5.yml',
    summary: '100 endpoints x 5 connections, 1 msg/s per connection',
    profiles: { quick: conn(20, 5), full: conn(120, 10) },
  },
  {
    name: 'throughput-100',
    family: 'throughput',
    file: 'throughput-100.yml',
    summary: '50 endpoints x 10 connections, 100 msg/s aggregate in',
    profiles: { smoke: conn(5, 3), quick: conn(30, 5), full: conn(180, 10) },
  },
  {
    name: 'throughput-500',
    family: 'throughput',
    file: 'throughput-500.yml',
    summary: '50 endpoints x 10 connections, 500 msg/s aggregate in',
    profiles: { quick: conn(30, 5), full: conn(180, 10) },
  },
  {
    name: 'throughput-1000',
    family: 'throughput',
    file: 'throughput-1000.yml',
    summary: '50 endpoints x 10 connections, 1000 msg/s aggregate in',
    profiles: { quick: conn(30, 5), full: conn(180, 10) },
  },
  // IoT traffic (issue 10): the same 50 x 10 at 1,000 msg/s with a share of the frames JSON
  // device readings, stored and checked against alert rules; the iot.* gates count them exactly.
  {
    name: 'iot-10',
    family: 'iot',
    file: 'iot-10.yml',
    summary: '50 endpoints x 10 connections, 1000 msg/s, 10 % device readings (stored, alerts checked)',
    profiles: { full: conn(180, 10) },
  },
  {
    name: 'iot-50',
    family: 'iot',
    file: 'iot-50.yml',
    summary: '50 endpoints x 10 connections, 1000 msg/s, 50 % device readings (stored, alerts checked)',
    profiles: { full: conn(180, 10) },
  },
  {
    name: 'iot-100',
    family: 'iot',
    file: 'iot-100.yml',
    summary: '50 endpoints x 10 connections, 1000 msg/s, 100 % device readings (stored, alerts checked)',
    profiles: { full: conn(180, 10) },
  },
  {
    name: 'stability',
    family: 'stability',
    file: 'stability.yml',
    summary: '50 endpoints x 10 connections, 200 msg/s, long-lived connections (30 min in full)',
    profiles: { quick: conn(120, 5), full: conn(1800, 10) },
  },
  {
    name: 'throughput-ramp',
    family: 'throughput-ramp',
    file: 'throughput-ramp.yml',
    summary: '50 endpoints x 10 connections, 500 -> 5000 msg/s in steps, to find the breaking point',
    informational: true,
    profiles: { quick: conn(20, 5), full: conn(60, 10) },
  },
  // Connection handling (processors/connections.ts): sockets that come and go, all at once, or
  // as many as one process may hold. Never in smoke; 19,000 only in full (or --only).
  {
    name: 'churn',
    family: 'connections',
    file: 'churn.yml',
    summary:
      '1,000 client slots replacing their socket every 1-3 s, 100 msg/s; relay back to 0 connections after',
    profiles: { quick: conn(60, 10), full: conn(200, 10) },
  },
  {
    name: 'reconnect-storm',
    family: 'connections',
    file: 'reconnect-storm.yml',
    summary:
      '50 x 10 conns at 500 msg/s, all dropped at once 10 s in and reconnected; time until all are back',
    profiles: { quick: conn(30, 5), full: conn(60, 10) },
  },
  {
    name: 'connections-5k',
    family: 'connections',
    file: 'connections-5k.yml',
    summary: '500 x 10 = 5,000 conns held, heartbeat on, 1000 msg/s; relay memory per connection',
    profiles: { quick: conn(30, 30), full: conn(120, 60) },
  },
  {
    name: 'connections-19k',
    family: 'connections',
    file: 'connections-19k.yml',
    summary: '1,900 x 10 = 19,000 conns held (fd hard limit 20,000), heartbeat on, 1000 msg/s',
    profiles: { full: conn(300, 120) },
  },
  {
    name: 'acceptance',
    family: 'acceptance',
    file: 'acceptance.yml',
    summary: 'Final acceptance: 50 endpoints x 10 connections, 500 msg/s, 1 h',
    profiles: { full: conn(3600, 10) },
  },
];

export function scenariosFor(profile: ProfileName, only?: readonly string[]): ScenarioSpec[] {
  if (only && only.length > 0) {
    const unknown = only.filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (unknown.length > 0) {
      throw new Error(
        `unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
      );
    }
    // --only runs the named scenarios even when the profile would skip them, at the profile's length or the nearest longer one.
    return SCENARIOS.filter((s) => only.includes(s.name));
  }
  return SCENARIOS.filter((s) => s.profiles[profile] !== undefined);
}

export function timingFor(
  spec: ScenarioSpec,
  profile: ProfileName,
): { holdSeconds: number; rampSeconds: number } {
  const order: ProfileName[] =
    profile === 'smoke' ? ['smoke', 'quick', 'full'] : profile === 'quick' ? ['quick', 'full'] : ['full'];
  for (const p of order) {
    const t = spec.profiles[p];
    if (t) return t;
  }
  throw new Error(`scenario ${spec.name} has no timing for profile ${profile}`);
}
