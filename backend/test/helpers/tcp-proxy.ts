import net from 'node:net';

/**
 * A TCP forwarder in front of a real database server, so a test can make the database
 * genuinely unreachable (stop accepting and cut every connection) and bring it back.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly open = new Set<net.Socket>();
  port = 0;
  /** Added latency on every chunk the database sends back (0 = pass-through). */
  delayMs = 0;
  /** While paused, what the database sends back is held (in order) until `resume()`. */
  private held: Array<() => void> | undefined;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        s.setNoDelay(true);
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        const deliver = () => client.writable && client.write(chunk);
        if (this.held) this.held.push(deliver);
        else if (this.delayMs <= 0) deliver();
        else setTimeout(deliver, this.delayMs);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Holds every answer of the database: queries sent now do not complete until `resume()`. */
  pause(): void {
    this.held ??= [];
  }

  /** Delivers the held answers in order and passes traffic through again. */
  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const deliver of held) deliver();
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Refuses new connections and cuts the existing ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.open) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
