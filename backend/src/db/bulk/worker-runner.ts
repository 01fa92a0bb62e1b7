import type * as mariadb from 'mariadb';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Statement } from '../dialects/dialect';
import { createGate, holdExitFor } from './exit-gate';
import { DriverError } from '../dialects/write-failure';
import type { RunResult, StatementRunner } from './statement-runner';

/** The connection the thread opens: the relay's SQLite file, or the MySQL server (one connection). */
export type WorkerTarget =
  { kind: 'sqlite'; file: string; busyTimeoutMs: number } | { kind: 'mysql'; options: mariadb.PoolConfig };

interface Pending {
  resolve: (result: RunResult) => void;
  reject: (err: Error) => void;
}

/**
 * Runs statements on a worker thread with a database connection of its own (worker.ts), so
 * building and (SQLite) running a 500-row INSERT does not hold the event loop that forwards
 * frames: the main thread only copies the parameters to the thread. Statements run one at a
 * time in the order posted. The thread starts with the first statement; if it dies, the
 * statements it held reject (as an unavailable database: the writers keep their rows) and the
 * next statement starts a new one. A statement the thread had already sent when it died may
 * have been committed all the same (as with any connection lost after sending): the writers
 * then write it again, so a crashed thread can store a batch twice but never loses one.
 * `toParam` turns each parameter into what the thread's driver must receive to store what
 * Prisma would (the dialect's timestamp text, for one).
 */
export class WorkerRunner implements StatementRunner {
  readonly insertIds = true;
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing?: Promise<void>;

  constructor(
    private readonly target: WorkerTarget,
    private readonly toParam: (value: unknown) => unknown,
  ) {}

  run({ sql, params }: Statement): Promise<RunResult> {
    if (this.closing) return Promise.reject(new Error('the database writer thread is closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    // Referenced while it holds statements (a draining relay waits for them), not when idle.
    if (this.pending.size === 0) worker.ref();
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, sql, params: params.map(this.toParam) });
    });
  }

  /**
   * Lets the statements already posted finish (the thread handles messages in order), then ends
   * the thread. On MySQL, past `deadlineMs` (a shutdown's remaining budget) the thread is
   * terminated: a statement stuck on a server that does not answer must not hold the process
   * past its shutdown timeout; its caller is told it failed (as for a crash, it may have been
   * committed all the same). A SQLite thread is always waited for: its statement ends by itself
   * within the busy timeout, a thread terminated inside better-sqlite3's native call aborts the
   * whole process when the call fails (exit-gate.ts), and one abandoned would still write rows
   * the shutdown had already reported as not written (both seen in shutdown-db-down.test.ts).
   */
  close(deadlineMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.closing ??= (async () => {
      const worker = this.worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref();
      worker.postMessage('close');
      if (this.target.kind === 'sqlite' || !Number.isFinite(deadlineMs)) return exited;
      const timer = setTimeout(() => void worker.terminate(), Math.max(0, deadlineMs));
      await exited;
      clearTimeout(timer);
    })();
    return this.closing;
  }

  private start(): Worker {
    // From source (tests, tsx) the thread needs a TypeScript loader too; built, it is .js.
    const fromSource = __filename.endsWith('.ts');
    // Process exit waits for the thread to leave better-sqlite3's native code (exit-gate.ts).
    const gate = createGate();
    const worker = new Worker(path.join(__dirname, `worker${path.extname(__filename)}`), {
      workerData: { target: this.target, gate },
      execArgv: fromSource ? ['--require', 'tsx/cjs'] : [],
    });
    const release = holdExitFor(gate);
    worker.once('exit', release);
    worker.on(
      'message',
      (msg: { id: number; result?: RunResult; error?: { message: string; code?: string } }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (this.pending.size === 0) worker.unref();
        if (msg.error) p.reject(new DriverError(msg.error.message, msg.error.code));
        else p.resolve(msg.result ?? { changes: 0 });
      },
    );
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`the database writer thread failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`the database writer thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}
