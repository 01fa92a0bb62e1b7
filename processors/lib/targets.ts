/**
 * Several relay processes as one target (`pnpm test:performance --cluster N`): which process each
 * connection goes to, and which process a frame's sender was on.
 *
 * Each endpoint's connections are spread over the processes round-robin, starting at a process
 * that rotates with the endpoint (endpoint s's connection r on process (s + r) mod N), so with
 * N >= 2 and at least N connections per endpoint every endpoint has clients on every process
 * and every frame is delivered both on its sender's process and across Redis, and the
 * processes' totals differ by less than N even when N does not divide the connections per
 * endpoint. (Starting every endpoint at process 0 put 4 of 10 on process 0 over 3 processes:
 * 20,000 of 50,000 connections on one process, which is its whole file-descriptor limit here.)
 * The assignment is a pure function of the VU's index in its generator thread, which the frame
 * header already carries (the sender id), so a receiver can tell a local delivery from a
 * cross-process one without a wire field.
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
 * the VU's rank among its endpoint's connections; see processIndexOf.
 */
export function targetIndexOf(vuIndex: number, endpoints: number, targets: number): number {
  const e = Math.max(1, endpoints);
  return processIndexOf(vuIndex % e, Math.floor(vuIndex / e), targets);
}

/**
 * The process (0-based, < `processes`) of connection `rank` (0-based) of endpoint `slot`:
 * (slot + rank) mod processes. The one placement rule of the pack's --cluster and of
 * scripts/cluster-connections.ts.
 */
export function processIndexOf(slot: number, rank: number, processes: number): number {
  if (processes <= 1) return 0;
  return (slot + rank) % processes;
}

/** The process index the sender of a frame was on (see targetIndexOf), from its sender id. */
export function senderTargetIndex(senderId: number, endpoints: number, targets: number): number {
  return targetIndexOf(senderId % ID_STRIDE, endpoints, targets);
}
