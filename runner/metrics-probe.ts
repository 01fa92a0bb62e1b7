/**
 * The relay's Prometheus endpoint, read before and after each scenario. A relay without
 * /metrics (or one that refuses the key) yields null and the report says the figures are missing.
 */
import { restBase } from './urls';

export async function readRelayMetrics(target: string, apiKey?: string): Promise<string | null> {
  try {
    const res = await fetch(`${restBase(target)}/metrics`, {
      signal: AbortSignal.timeout(3000),
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    });
    const text = await res.text();
    return res.status === 200 ? text : null;
  } catch {
    return null;
  }
}
