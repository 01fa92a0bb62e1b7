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
