/**
 * Child process for thread-priority.test.ts: renicing touches every thread of the process, so
 * it must not run inside Jest's own. Starts `GENERATORS` worker threads that each register as
 * generators (one BroadcastChannel per run), lets the first call yieldOthers() once all have
 * registered, then prints one JSON line: the generators' tids, what yieldOthers returned (twice),
 * and every thread's nice value afterwards.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { otherThreadsNice, ownThreadId, ThreadPriority } from '../../lib/thread-priority';

interface Job {
  first: boolean;
  channel: string;
  enabled: boolean;
  nice: number;
}

/** The nice value of each thread of this process (field 19 of /proc/self/task/<tid>/stat). */
function niceByTid(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out[tid] = Number(fields[16]);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

if (isMainThread) {
  const generators = Number(process.env.GENERATORS ?? 2);
  const channel = `thread-priority-test-${process.pid}`;
  const enabled = process.env.ENABLED !== 'false';
  const nice = otherThreadsNice(process.env.NICE);
  const workers = Array.from(
    { length: generators },
    (_, i) =>
      // A worker does not inherit tsx's loader for a .ts entry: it registers it itself.
      new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, {
        eval: true,
        workerData: { first: i === 0, channel, enabled, nice } satisfies Job,
      }),
  );
  const answers: { tid: number | null }[] = [];
  for (const w of workers)
    w.on('message', (m: { tid?: number | null }) => {
      // Registration answers only; worker 0's answer to 'yield' is read below.
      if ('tid' in m) answers.push(m as { tid: number | null });
    });
  const registered = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (answers.length === generators) {
        clearInterval(check);
        resolve();
      }
    }, 10);
  });
  void registered.then(() => {
    // All have registered and heard each other: now the first one yields.
    workers[0].postMessage('yield');
    workers[0].once('message', (m: { changed: number[]; again: number[] }) => {
      console.log(
        JSON.stringify({
          main: ownThreadId(),
          generators: answers.map((a) => a.tid),
          changed: m.changed,
          again: m.again,
          nice: niceByTid(),
        }),
      );
      for (const w of workers) void w.terminate();
    });
  });
} else {
  const job = workerData as Job;
  const priority = new ThreadPriority({ nice: job.nice, enabled: job.enabled, channelName: job.channel });
  priority.register();
  // Time for every sibling's hello and answer to arrive.
  setTimeout(() => parentPort!.postMessage({ tid: ownThreadId() }), 300);
  parentPort!.on('message', () => {
    const changed = priority.yieldOthers();
    // A second pass finds nothing left to change.
    parentPort!.postMessage({ changed, again: priority.yieldOthers() });
  });
}
