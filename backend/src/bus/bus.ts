/**
 * What relay processes tell each other so that several of them act as one relay. The shape
 * follows Soketi's adapters: an in-process driver for a single process (nothing to tell anyone)
 * and a Redis pub/sub driver for several processes on one or many hosts.
 */

/** Events that are not frames: rare, so they travel as JSON on one control channel. */
export type ControlEvent =
  /** The endpoint was deleted: close its sockets (4404) and forget its state. */
  | { type: 'endpoint-deleted'; endpointId: string }
  /** The endpoint's alert rules changed: drop the cached rules. */
  | { type: 'alert-rules-changed'; endpointId: string };

/** Where a bus hands what other processes published; set once with Bus.start. */
export interface BusHandlers {
  /**
   * A frame another process received from one of its clients (or an alert it raised), to be
   * delivered to every local socket of the endpoint. `data` is a view into the bus message: the
   * handler must send it, not keep it.
   */
  frame(endpointId: string, data: Buffer, isBinary: boolean): void;
  control(event: ControlEvent): void;
  /**
   * The bus is back after an outage. Events published meanwhile were lost: the relay re-checks
   * what they would have told it (deleted endpoints, changed rules).
   */
  reconnected?(): void;
}

export interface Bus {
  /** False for the in-process driver: nothing is published, the relay broadcasts locally only. */
  readonly distributed: boolean;
  /** Its counts for /metrics (registered only for a distributed bus). */
  readonly counters: BusCounters;
  /** Random id of this process on the bus (hex); messages carrying it are its own and ignored. */
  readonly nodeId: string;
  /** Connects and starts delivering to `handlers`. Resolves once subscribed to the control channel. */
  start(handlers: BusHandlers): Promise<void>;
  /**
   * One more local socket of `endpointId` (counted, not per socket subscribed): the first one
   * subscribes this process to the endpoint's channel. Resolves once the subscription is
   * confirmed, or at once while the bus is down (it subscribes when it reconnects), or after a
   * short wait if the confirmation is slow; never rejects.
   */
  join(endpointId: string): Promise<void>;
  /** One local socket of `endpointId` fewer; the last one unsubscribes. */
  leave(endpointId: string): void;
  /**
   * Hands one frame to the other processes with clients of `endpointId`. Never waits and never
   * throws: while the bus is down the frame is dropped for other processes (counted).
   */
  publish(endpointId: string, data: Buffer | string, isBinary: boolean): void;
  /** Tells every other process about an event; never throws (counted and logged when lost). */
  publishControl(event: ControlEvent): void;
  /** Unsubscribes and disconnects. */
  close(): Promise<void>;
}

/** Counts a bus keeps for /metrics (plain numbers, read at scrape time). */
export class BusCounters {
  /** Frames handed to Redis. */
  published = 0;
  /** Frames not handed over because the bus was down (other processes never see them). */
  publishDropped = 0;
  /** Frames from other processes delivered locally. */
  received = 0;
  /** Control events lost (bus down) */
  controlDropped = 0;
  /** Times the bus connection was lost. */
  disconnects = 0;
  /** 1 while both bus connections are up, 0 otherwise; always 1 in-process. */
  connected = 1;
}
