import { randomBytes } from 'node:crypto';
import { BusCounters, type Bus, type BusHandlers } from './bus';

/**
 * The single-process driver (no REDIS_URL): every socket of an endpoint is in this process, so
 * there is nobody to publish to and nothing to subscribe to.
 */
export class LocalBus implements Bus {
  readonly distributed = false;
  readonly nodeId = randomBytes(8).toString('hex');
  readonly counters = new BusCounters();

  async start(_handlers: BusHandlers): Promise<void> {}
  async join(_endpointId: string): Promise<void> {}
  leave(_endpointId: string): void {}
  publish(_endpointId: string, _data: Buffer | string, _isBinary: boolean): void {}
  publishControl(): void {}
  async close(): Promise<void> {}
}
