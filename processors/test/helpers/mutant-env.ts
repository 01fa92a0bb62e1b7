/**
 * The environment for a child Node process a test spawns: this process's, plus `extra`, plus,
 * under Stryker, the mutant under test. Stryker activates a mutant in the Jest worker only; the
 * child's instrumented code reads `__STRYKER_ACTIVE_MUTANT__` instead, so without it a test that
 * checks its code in a child would run the child unmutated and kill nothing.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const active = (globalThis as { __stryker__?: { activeMutant?: string } }).__stryker__?.activeMutant;
  return { ...process.env, ...extra, ...(active === undefined ? {} : { __STRYKER_ACTIVE_MUTANT__: active }) };
}
