/**
 * Loopback source addresses for many client sockets. A (source ip, destination) pair has
 * ~28,000 ephemeral ports, and every socket the client closes first holds its port in
 * TIME_WAIT for 60 s, so 19,000 open sockets or 100,000 churn cycles per minute need
 * several source addresses: 127.0.0.2 and up (all of 127/8 is the loopback on Linux).
 */

/**
 * The n-th address of a pool of `count` addresses starting at 127.0.0.2, round-robin.
 * `count` 0 means "let the kernel choose" (undefined). Throws for a pool past 127.255.255.254.
 */
export function sourceAddress(n: number, count: number): string | undefined {
  if (count <= 0) return undefined;
  if (count > 0xfffffd) throw new Error(`sourceAddresses ${count}: 127/8 has no room for that many`);
  const host = 2 + (n % count);
  return `127.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`;
}

/** Descriptors a process needs besides its client sockets (listen socket, database, Redis, logs, module files). */
export const FD_HEADROOM = 200;

/** The soft and hard open-file limits of this process from /proc/self/limits; null where unreadable. */
export function fdLimits(limitsText: string): { soft: number; hard: number } | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limitsText);
  if (!m) return null;
  const n = (s: string) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: n(m[1]), hard: n(m[2]) };
}

/** Sum of a labelled Prometheus series over the label values in `only` (e.g. relay_connections by endpoint). */
export function sumSeries(
  metricsText: string,
  name: string,
  label: string,
  only: ReadonlySet<string>,
): number {
  let sum = 0;
  const re = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const m of metricsText.matchAll(re)) {
    const lm = new RegExp(`${label}="([^"]*)"`).exec(m[1]);
    if (lm && only.has(lm[1])) sum += Number(m[2]);
  }
  return sum;
}

/** An unlabelled Prometheus sample, or undefined when absent. */
export function gaugeValue(metricsText: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(metricsText);
  return m ? Number(m[1]) : undefined;
}
