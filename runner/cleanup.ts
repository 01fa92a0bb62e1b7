/**
 * Child processes to stop if the runner itself is interrupted (Ctrl-C, CI
 * timeout): without this a killed runner leaves the relay and Artillery running.
 */
type Cleanup = () => void | Promise<unknown>;

const cleanups = new Set<Cleanup>();

export function onInterrupt(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export function installSignalHandlers(): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping the relay and Artillery...`);
    Promise.allSettled([...cleanups].map((fn) => fn())).finally(() => process.exit(130));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
