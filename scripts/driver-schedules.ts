/**
 * The plain-ws driver's timetables (scripts/plain-ws-driver.ts --schedule, explained there);
 * scripts/compare-pack-plain.ts --driver-schedule passes one through. `phases` is the pack's own
 * traffic model and the default.
 */
export const DRIVER_SCHEDULES = ['phases', 'shuffled', 'endpoint-major'] as const;
export type DriverSchedule = (typeof DRIVER_SCHEDULES)[number];
