/** Whether a Redis answers, asked once before a `--cluster` run starts any process. */
import Redis from 'ioredis';

/**
 * Connects to `url`, sends PING and disconnects. Resolves undefined when Redis answered PONG,
 * otherwise the reason (the client's error message, or a timeout after `timeoutMs`). Never
 * throws and never retries: an unreachable Redis is a usage error of the run, said at once.
 */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<string | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: string | undefined;
  client.on('error', (err: Error) => (lastError = err.message));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const answer = await Promise.race([
      client
        .connect()
        .then(() => client.ping())
        .then((pong) => (pong === 'PONG' ? undefined : `PING answered "${pong}"`)),
      timeout,
    ]);
    return answer;
  } catch (err) {
    return (err as Error).message || lastError || 'connection failed';
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
