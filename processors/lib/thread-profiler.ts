/**
 * Optional V8 CPU profile of one generator worker thread. `node --cpu-prof` only
 * profiles Artillery's main thread reliably (the worker's profile is lost when
 * Artillery terminates it), so the processor profiles its own thread through the
 * inspector when RELAY_PERF_GENERATOR_PROF_DIR names a directory.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

export class ThreadProfiler {
  private session: Session | undefined;

  constructor(private readonly dir = process.env.RELAY_PERF_GENERATOR_PROF_DIR) {}

  start(): void {
    if (!this.dir || this.session) return;
    const session = new Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.start');
    this.session = session;
  }

  /** Writes `<dir>/generator-<pid>-<threadId>.cpuprofile`; the next start() begins a new profile. */
  stop(): void {
    const session = this.session;
    if (!session || !this.dir) return;
    this.session = undefined;
    const file = path.join(this.dir, `generator-${process.pid}-${threadId}.cpuprofile`);
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(file, JSON.stringify(res.profile));
      session.disconnect();
    });
  }
}
