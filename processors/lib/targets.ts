/**
 * Several relay processes as one target (`pnpm test:performance --cluster N`): which process each
 * connection goes to, and which process a frame's sender was on.
 *
 * Each endpoint's connections are spread over the processes round-robin (the endpoint's first
 * connection on process 0, its second on process 1, ...), so with N >= 2 and at least N
 * connections per endpoint every endpoint has clients on every process and every frame is
 * delivered both on its sender's process and across Redis. The assignment is a pure function of
 * the VU's index in its generator thread, which the frame header already carries (the sender
 * id), so a receiver can tell a local delivery from a cross-process one without a wire field.
 */

/** Sender ids are unique across generator threads: the thread id in the high digits, the thread's VU index below. */
export const ID_STRIDE = 1_000_000;

/** The sender id of the `vuIndex`-th VU of generator thread `threadId`. */
export function senderIdOf(threadId: number, vuIndex: number): number {
  return threadId * ID_STRIDE + vuIndex;
}

/**
 * The relay URLs of a run: TARGETS (comma-separated ws:// URLs, one per process) when set,
 * else the single `fallback`. Throws on an entry that is not a ws:// or wss:// URL.
 */
export function targetsFrom(targetsEnv: string | undefined, fallback: string): string[] {
  const list = (targetsEnv ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) return [fallback];
  for (const t of list) {
    let url: URL;
    try {
      url = new URL(t);
    } catch {
      throw new Error(`TARGETS: "${t}" is not a URL`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
      throw new Error(`TARGETS: "${t}" is not a ws:// or wss:// URL`);
  }
  return list;
}

/**
 * Index (0-based, < `targets`) of the process the `vuIndex`-th VU of a thread connects to. VUs
 * take endpoint slots round-robin (`vuIndex % endpoints`), so `floor(vuIndex / endpoints)` is
 * the VU's rank among its endpoint's connections; ranks go to processes round-robin.
 */
export function targetIndexOf(vuIndex: number, endpoints: number, targets: number): number {
  if (targets <= 1) return 0;
  return Math.floor(vuIndex / Math.max(1, endpoints)) % targets;
}

/** The process index the sender of a frame was on (see targetIndexOf), from its sender id. */
export function senderTargetIndex(senderId: number, endpoints: number, targets: number): number {
  return targetIndexOf(senderId % ID_STRIDE, endpoints, targets);
}
