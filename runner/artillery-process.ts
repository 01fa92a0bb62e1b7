/**
 * One Artillery process per scenario file: `artillery run a.yml b.yml` would
 * deep-merge the files and run a single scenario, and a VU stuck in a missing
 * `function:` step never ends, so every run gets its own process and a deadline.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { onInterrupt } from './cleanup';

export interface ArtilleryRun {
  exitCode: number | null;
  timedOut: boolean;
  output: string;
}

export interface ArtilleryArgs {
  repoRoot: string;
  scenarioFile: string;
  commonConfig: string;
  target: string;
  overrides: unknown;
  outputJson: string;
  logFile: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  onStart?: (pid: number) => void;
  onLine?: (line: string) => void;
}

export function artilleryBin(repoRoot: string): string {
  // The package's own launcher, run by this Node directly: going through npx or
  // the pnpm shim would put a shell between us and the process whose CPU we sample.
  return path.join(repoRoot, 'node_modules', 'artillery', 'bin', 'run');
}

/**
 * Node flags of every generator (Artillery) process the pack starts: the runner's and
 * scripts/compare-pack-plain.ts's. A scenario run by hand gets them with `node
 * --no-memory-reducer node_modules/artillery/bin/run run ...` (V8 refuses them in NODE_OPTIONS).
 *
 * `--no-memory-reducer`: Artillery's main thread grows its heap to about 93-112 MB while it
 * starts (loading its plugins, bundling a TypeScript processor) and then sits idle while the
 * worker thread sends. About 8 s after it goes idle (V8's gc-memory-reducer-start-delay-ms), V8's
 * memory reducer runs full collections of that heap to give memory back (`Mark-Compact
 * (reduce)`, e.g. 112 -> 64 MB: pauses of 10-61 ms after 39-84 ms of incremental marking, with
 * concurrent marking on V8's helper threads): around the window's opening or in the hold, on a
 * machine whose cores the relay and the generator's worker already share. In a traced 5,000 msg/s
 * run on the project's 2-core machine two of them fell at the seconds that made the pack's tail
 * (docs/performance/README.md, "The generator's idle main thread collects its heap during the
 * hold"; three interleaved pairs with and without could not size the effect). Without the reducer
 * V8 still collects the heap when it fills; it no longer shrinks it while it sits idle.
 */
export const GENERATOR_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];

export function runArtillery(a: ArtilleryArgs): Promise<ArtilleryRun> {
  const args = [
    ...GENERATOR_NODE_FLAGS,
    artilleryBin(a.repoRoot),
    'run',
    '--config',
    a.commonConfig,
    '--target',
    a.target,
    '--overrides',
    JSON.stringify(a.overrides),
    '--output',
    a.outputJson,
    a.scenarioFile,
  ];
  return new Promise((resolve, reject) => {
    const log = createWriteStream(a.logFile);
    const child = spawn(process.execPath, args, {
      cwd: a.repoRoot,
      env: a.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid) a.onStart?.(child.pid);
    const forget = onInterrupt(() => {
      child.kill('SIGTERM');
    });
    const chunks: string[] = [];
    let partial = '';
    const onData = (buf: Buffer) => {
      const text = buf.toString('utf8');
      log.write(text);
      chunks.push(text);
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) a.onLine?.(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, a.timeoutMs);

    child.once('error', (err) => {
      clearTimeout(timer);
      log.end();
      reject(err);
    });
    child.once('close', (code) => {
      forget();
      clearTimeout(timer);
      log.end();
      resolve({ exitCode: code, timedOut, output: chunks.join('') });
    });
  });
}
