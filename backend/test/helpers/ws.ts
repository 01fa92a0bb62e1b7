import WebSocket from 'ws';

export interface Frame {
  data: Buffer;
  isBinary: boolean;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/** A ws client that records every frame and its close, with helpers to wait for them. */
export class Client {
  readonly frames: Frame[] = [];
  readonly closed: Promise<CloseInfo>;
  closeInfo?: CloseInfo;
  pings = 0;
  private waiters: Array<() => void> = [];

  constructor(
    readonly ws: WebSocket,
    readonly label = 'client',
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.frames.push({ data: Buffer.from(data), isBinary });
      this.wake();
    });
    ws.on('ping', () => this.pings++);
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.wake();
        resolve(this.closeInfo);
      }),
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(data: string | Buffer, binary?: boolean): Promise<void> {
    return new Promise((resolve, reject) =>
      this.ws.send(data, { binary: binary ?? Buffer.isBuffer(data) }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  /** Text frames parsed as JSON (non-JSON text frames are skipped). */
  json<T = Record<string, unknown>>(): T[] {
    const out: T[] = [];
    for (const f of this.frames) {
      if (f.isBinary) continue;
      try {
        out.push(JSON.parse(f.data.toString('utf8')) as T);
      } catch {
        /* not JSON */
      }
    }
    return out;
  }

  /** Waits until `pred(frames)` is true, or throws after `timeoutMs`. */
  async waitFor(pred: (frames: Frame[]) => boolean, timeoutMs = 5000, what = 'frames'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${this.label}: timed out waiting for ${what}; have ${this.frames.length} frame(s): ${describe(this.frames)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitForCount(n: number, timeoutMs = 5000): Promise<void> {
    return this.waitFor((f) => f.length >= n, timeoutMs, `${n} frame(s)`);
  }

  async waitClosed(timeoutMs = 5000): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.label}: not closed within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.waitClosed().catch(() => this.ws.terminate());
  }
}

function describe(frames: Frame[]): string {
  return frames
    .slice(0, 10)
    .map((f) =>
      f.isBinary
        ? `bin<${f.data.toString('hex').slice(0, 40)}>`
        : JSON.stringify(f.data.toString('utf8').slice(0, 80)),
    )
    .join(', ');
}

export async function connect(
  url: string,
  opts: WebSocket.ClientOptions = {},
  label?: string,
): Promise<Client> {
  const ws = new WebSocket(url, opts);
  const client = new Client(ws, label);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)),
    );
    ws.once('error', reject);
  });
  return client;
}

/** Attempts an upgrade that must be refused; returns the HTTP status and body. */
export function expectRefused(
  url: string,
  opts: WebSocket.ClientOptions = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`upgrade to ${url} was accepted but should have been refused`));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    ws.once('error', (err) => reject(err));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a value passing `check`, or throws with the last value. */
export async function eventually<T>(
  fn: () => Promise<T>,
  check: (v: T) => boolean,
  { timeoutMs = 5000, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await fn();
    if (check(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await sleep(intervalMs);
  }
}

export async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}
