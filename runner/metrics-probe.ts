/**
 * Hook for the relay's Prometheus endpoint (added by a later issue): the runner
 * saves /metrics before and after each scenario when it exists. Nothing else
 * depends on it, so a relay without /metrics simply yields null.
 */
import { restBase } from './urls';

export async function readRelayMetrics(target: string): Promise<string | null> {
  try {
    const res = await fetch(`${restBase(target)}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    return res.status === 200 ? text : null;
  } catch {
    return null;
  }
}
