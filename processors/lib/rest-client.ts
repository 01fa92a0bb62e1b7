/** The relay's REST calls the `before`/`after` hooks need; Node's fetch, no extra dependency. */

export interface CreatedEndpoint {
  id: string;
  token: string;
}

function headers(apiKey: string | undefined): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}

export async function createEndpoint(
  base: string,
  apiKey: string | undefined,
  name: string,
): Promise<CreatedEndpoint> {
  const res = await fetch(`${base}/api/endpoints`, {
    method: 'POST',
    headers: headers(apiKey),
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 201) {
    throw new Error(
      `POST ${base}/api/endpoints -> ${res.status} ${text.slice(0, 200)}${res.status === 401 ? ' (is API_KEY set?)' : ''}`,
    );
  }
  const body = JSON.parse(text) as Partial<CreatedEndpoint>;
  if (typeof body.id !== 'string' || typeof body.token !== 'string') {
    throw new Error(`POST /api/endpoints returned no id/token: ${text.slice(0, 200)}`);
  }
  return { id: body.id, token: body.token };
}

export async function deleteEndpoint(base: string, apiKey: string | undefined, id: string): Promise<void> {
  const res = await fetch(`${base}/api/endpoints/${encodeURIComponent(id)}`, {
    method: 'DELETE',
    headers: headers(apiKey),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  if (res.status >= 300 && res.status !== 404)
    throw new Error(`DELETE /api/endpoints/${id} -> ${res.status}`);
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping result order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}

export interface AlertRuleBody {
  field: string;
  operator: '>' | '>=' | '<' | '<=' | '==' | '!=';
  threshold: number;
}

export async function createAlertRule(
  base: string,
  apiKey: string | undefined,
  endpointId: string,
  rule: AlertRuleBody,
): Promise<void> {
  const url = `${base}/api/endpoints/${encodeURIComponent(endpointId)}/alert-rules`;
  const res = await fetch(url, {
    method: 'POST',
    headers: headers(apiKey),
    body: JSON.stringify(rule),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${url} -> ${res.status} ${text.slice(0, 200)}`);
}

/** A device's stored readings and fired alerts. */
export interface DeviceCounts {
  readings: number;
  alerts: number;
}

/** The lists' page limit (backend/src/http/schemas.ts): a full page cannot be counted exactly. */
const LIST_LIMIT = 1000;

async function getJson(url: string, apiKey: string | undefined): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers: headers(apiKey), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the error message
  }
  return { status: res.status, body };
}

/**
 * Exact counts of one device's readings and alerts: GET .../devices/:deviceId/stats. A relay
 * without that route (404 `no route`, e.g. one from before it existed) is counted from the
 * lists instead (GET .../data and .../alerts, at most LIST_LIMIT rows each), which is exact only
 * below that limit: at or above it this throws rather than give a wrong count.
 */
export async function deviceCounts(
  base: string,
  apiKey: string | undefined,
  endpointId: string,
  deviceId: string,
): Promise<DeviceCounts> {
  const ep = `${base}/api/endpoints/${encodeURIComponent(endpointId)}`;
  const dev = `${ep}/devices/${encodeURIComponent(deviceId)}`;
  const stats = await getJson(`${dev}/stats`, apiKey);
  if (stats.status === 200) {
    const b = stats.body as Partial<DeviceCounts>;
    if (typeof b.readings !== 'number' || typeof b.alerts !== 'number')
      throw new Error(`GET ${dev}/stats: no readings/alerts counts in ${JSON.stringify(b).slice(0, 200)}`);
    return { readings: b.readings, alerts: b.alerts };
  }
  const noRoute = stats.status === 404 && JSON.stringify(stats.body).includes('no route');
  if (!noRoute)
    throw new Error(`GET ${dev}/stats -> ${stats.status} ${JSON.stringify(stats.body).slice(0, 200)}`);
  const [rows, alerts] = await Promise.all([
    getJson(`${dev}/data?limit=${LIST_LIMIT}`, apiKey),
    getJson(`${ep}/alerts?limit=${LIST_LIMIT}`, apiKey),
  ]);
  for (const [what, r] of [
    ['data', rows],
    ['alerts', alerts],
  ] as const) {
    if (r.status !== 200 || !Array.isArray(r.body))
      throw new Error(`GET ${what} of ${deviceId} -> ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    if (r.body.length >= LIST_LIMIT)
      throw new Error(
        `${what} of ${deviceId}: ${LIST_LIMIT} rows or more and the relay has no count route; cannot count exactly`,
      );
  }
  return {
    readings: (rows.body as unknown[]).length,
    alerts: (alerts.body as { deviceId?: unknown }[]).filter((a) => a.deviceId === deviceId).length,
  };
}
