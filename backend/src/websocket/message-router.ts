import type WebSocket from 'ws';
import type { Prisma } from '../db/prisma';
import { logger } from '../logger';
import type { RelayMetrics } from '../monitoring/metrics';
import type { AlertService } from '../services/alert.service';
import {
  QueueFullError,
  RejectedReadingError,
  type DeviceDataService,
} from '../services/device-data.service';
import type { StatsStore } from '../services/stats/stats-store';
import type { Broadcaster } from './broadcaster';
import { mayBeDeviceFrame, parseDeviceFrame } from './device-frame';

/** Routes one received frame: counts it, forwards it, and handles device data. */
export class MessageRouter {
  constructor(
    private readonly broadcaster: Broadcaster,
    private readonly stats: StatsStore,
    private readonly deviceData: DeviceDataService,
    private readonly alerts: AlertService,
    private readonly metrics: RelayMetrics,
  ) {}

  /**
   * Immediate mode only: the last forward still waiting on its stats write, per sender. The
   * writes run concurrently (and a pool may finish them out of order); forwards are chained so
   * a sender's frames still arrive in the order sent.
   */
  private readonly pendingForward = new WeakMap<WebSocket, Promise<void>>();

  route(endpointId: string, sender: WebSocket, data: Buffer, isBinary: boolean): void {
    const received = performance.now();
    const counters = this.metrics.counters;
    counters.framesReceived++;
    counters.bytesReceived += data.length;
    const recorded = this.stats.recordMessage(endpointId);
    // Only the legacy immediate mode hands back a write to wait for before forwarding.
    if (!recorded) return this.forward(endpointId, sender, data, isBinary, received);
    const previous = this.pendingForward.get(sender);
    const done: Promise<void> = (previous ? Promise.all([previous, recorded]) : recorded).then(() => {
      this.forward(endpointId, sender, data, isBinary, received);
      if (this.pendingForward.get(sender) === done) this.pendingForward.delete(sender);
    });
    this.pendingForward.set(sender, done);
  }

  private forward(
    endpointId: string,
    sender: WebSocket,
    data: Buffer,
    isBinary: boolean,
    received: number,
  ): void {
    const delivered = this.broadcaster.broadcast(endpointId, sender, data, isBinary);
    this.metrics.forwardSeconds.observe((performance.now() - received) / 1000);
    this.metrics.counters.deliveries += delivered;
    this.metrics.counters.bytesDelivered += delivered * data.length;
    if (!isBinary && mayBeDeviceFrame(data)) this.handleDeviceFrame(endpointId, sender, data);
  }

  private handleDeviceFrame(endpointId: string, sender: WebSocket, data: Buffer): void {
    const result = parseDeviceFrame(data);
    if (!result) return;
    if ('error' in result) {
      this.metrics.deviceFramesMalformed.inc();
      if (sender.readyState === sender.OPEN)
        sender.send(JSON.stringify({ type: 'error', message: result.error }));
      return;
    }
    const { deviceId, data: reading } = result.frame;
    this.deviceData.store(endpointId, deviceId, reading as Prisma.InputJsonValue).then(
      // Stored (or queued): a failure from here on is the alert rules', never the reading's, so
      // the sender is not told to send it again.
      () =>
        this.alerts
          .evaluate(endpointId, deviceId, reading)
          .then((fired) => {
            for (const alert of fired) {
              this.broadcaster.broadcast(
                endpointId,
                null,
                JSON.stringify({ type: 'alert', ...alert }),
                false,
              );
            }
          })
          .catch((err: Error) =>
            logger.error('alert rules not evaluated', { endpointId, deviceId, error: err.message }),
          ),
      (err: Error) => {
        const full = err instanceof QueueFullError;
        const rejected = err instanceof RejectedReadingError;
        if (rejected) this.metrics.deviceDataRejected.inc({ reason: err.reason });
        else if (!full) logger.error('device data not stored', { endpointId, deviceId, error: err.message });
        if (sender.readyState === sender.OPEN) {
          const message = full || rejected ? err.message : 'device data could not be stored; retry later';
          sender.send(JSON.stringify({ type: 'error', message }));
        }
      },
    );
  }
}
