import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Statement } from '../dialects/dialect';
import type { StatementRunner } from './statement-runner';

/** A statement the SQLite worker refused; `code` is better-sqlite3's (e.g. SQLITE_CONSTRAINT_NOTNULL). */
export class SqliteWorkerError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SqliteWorkerError';
  }
}

/**
 * How Prisma's SQLite adapter stores a DateTime (its default `iso8601` timestampFormat:
 * `toISOString()` with `+00:00` for `Z`). Rows written around Prisma must match it, or Prisma
 * reads them back wrong and range queries compare them as different text.
 */
export const sqliteTimestamp = (date: Date): string => date.toISOString().replace('Z', '+00:00');

/** The parameter as the worker's driver takes it (what Prisma's adapter would have sent). */
function toSqlite(value: unknown): unknown {
  if (value instanceof Date) return sqliteTimestamp(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

interface Pending {
  resolve: (changes: number) => void;
  reject: (err: Error) => void;
}

/**
 * Runs statements on a worker thread with its own better-sqlite3 connection to `file` (WAL lets
 * the relay's Prisma connection read meanwhile; writes take turns on SQLite's lock, each side
 * waiting up to `busyTimeoutMs`). Statements run one at a time in the order posted. The thread
 * starts on the first statement; if it dies, the statements it held reject (an
 * unavailable-database error for the writers, which keep their rows) and the next statement
 * starts a new one. The main thread's cost per statement is copying its parameters to the thread.
 */
export class SqliteWorkerRunner implements StatementRunner {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing?: Promise<void>;

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
  ) {}

  run({ sql, params }: Statement): Promise<number> {
    if (this.closing) return Promise.reject(new Error('the SQLite writer thread is closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    // Referenced while it holds statements (a draining relay waits for them), not when idle.
    if (this.pending.size === 0) worker.ref();
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, sql, params: params.map(toSqlite) });
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const worker = this.worker;
      if (!worker) return;
      // Statements already posted run first: the thread handles messages in order.
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('close');
      await exited;
    })();
    return this.closing;
  }

  private start(): Worker {
    // From source (tests, tsx) the thread needs the same TypeScript loader; built, it is .js.
    const fromSource = __filename.endsWith('.ts');
    const worker = new Worker(path.join(__dirname, `worker${path.extname(__filename)}`), {
      workerData: { file: this.file, busyTimeoutMs: this.busyTimeoutMs },
      execArgv: fromSource ? ['--require', 'tsx/cjs'] : [],
    });
    worker.on(
      'message',
      (msg: { id: number; changes?: number; error?: { message: string; code?: string } }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (this.pending.size === 0) worker.unref();
        if (msg.error) p.reject(new SqliteWorkerError(msg.error.message, msg.error.code));
        else p.resolve(msg.changes ?? 0);
      },
    );
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`the SQLite writer thread failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}
