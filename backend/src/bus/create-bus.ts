import type { Bus } from './bus';
import { LocalBus } from './local-bus';
import { RedisBus } from './redis-bus';

export interface BusConfig {
  /** Unset: one process, no Redis. */
  REDIS_URL?: string;
  REDIS_PREFIX: string;
}

/** The Redis driver when REDIS_URL is set, otherwise the in-process one. */
export function createBus(config: BusConfig): Bus {
  if (!config.REDIS_URL) return new LocalBus();
  return new RedisBus({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX });
}
