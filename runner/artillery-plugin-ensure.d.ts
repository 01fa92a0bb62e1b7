/** The parts of artillery-plugin-ensure (plain JS, no types) the runner calls; see runner/generator-merge.ts. */
declare module 'artillery-plugin-ensure' {
  export const Plugin: {
    statsToVars(data: { report: unknown }): Record<string, unknown>;
    runChecks(
      checks: { thresholds?: unknown[]; conditions?: unknown[] },
      vars: Record<string, unknown>,
    ): unknown[];
  };
}
