/**
 * One JavaScript bundle of a scenario's TypeScript processor, made by the runner instead of by
 * every Artillery process.
 *
 * Artillery bundles a `.ts` processor into `<processor dir>/dist/<name>.js` when it starts and
 * deletes that file when it exits. Two costs: each start spends seconds of Artillery's main
 * thread on esbuild-wasm (2.4 s CPU of a 5,000 msg/s pack run's start on the 2-core VM,
 * docs/performance/README.md), paid again by every scenario, pass and capacity step; and
 * processes started from one checkout at once (--generators, two runs side by side) rewrite and
 * delete that one file under each other's worker threads while they load it. So the runner
 * bundles once per processor and process, with the bundler and options Artillery itself uses
 * (esbuild-wasm, its own dependency: same output as a hand run), into a file of its own, and
 * points every Artillery process at it through `config.processor`; a `.js` processor is loaded as
 * it is. A scenario file run by hand (`npx artillery run`) still bundles as Artillery does.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

interface EsbuildSync {
  buildSync(options: Record<string, unknown>): unknown;
}

/** esbuild-wasm as Artillery resolves it (it is Artillery's dependency, not the project's). */
function artilleryEsbuild(repoRoot: string): EsbuildSync {
  const fromRoot = createRequire(path.join(repoRoot, 'package.json'));
  const fromArtillery = createRequire(fromRoot.resolve('artillery/package.json'));
  return fromArtillery('esbuild-wasm') as EsbuildSync;
}

/**
 * Bundles `processorTs` (absolute) into `outFile` (absolute) and returns `outFile`. Throws with
 * esbuild's message when the processor does not compile.
 */
export function bundleProcessor(repoRoot: string, processorTs: string, outFile: string): string {
  artilleryEsbuild(repoRoot).buildSync({
    entryPoints: [processorTs],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['@playwright/test'],
    // Errors still come back in the thrown message ("Build failed with 1 error: ..."). Logging
    // them to stderr is what must not happen: when stderr is a regular file (a CI log, `> log
    // 2>&1`), esbuild-wasm 0.28's service process dies writing to it (V8 "Fatal JavaScript invalid
    // size error 169220804") and the caller gets "The service was stopped" instead of the error.
    logLevel: 'silent',
  });
  return outFile;
}

const bundles = new Map<string, string>();
let bundleDir: string | undefined;
/** Only grows, so a bundle made again never takes another processor's file name. */
let made = 0;

/**
 * The bundle of `processorTs` (absolute) for this process: made on first use into a private
 * temporary directory (removed when the process exits), then the same file for every later
 * call, so every scenario, pass and capacity step of one runner invocation runs the same code,
 * bundled once. Made again if the file has gone. Throws with esbuild's message when the
 * processor does not compile (nothing is cached then).
 */
export function sharedBundle(repoRoot: string, processorTs: string): string {
  const cached = bundles.get(processorTs);
  if (cached && existsSync(cached)) return cached;
  if (!bundleDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-perf-processors-'));
    bundleDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  // One file per processor path, named after it (relay.ts -> relay.js, connections.ts -> connections.js).
  const out = path.join(bundleDir, `${made++}-${path.basename(processorTs, path.extname(processorTs))}.js`);
  bundleProcessor(repoRoot, processorTs, out);
  bundles.set(processorTs, out);
  return out;
}
