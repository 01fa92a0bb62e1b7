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

/** What the bundling uses of esbuild-wasm (an argument so tests can give a failing one). */
export interface EsbuildSync {
  buildSync(options: Record<string, unknown>): unknown;
  /** Ends esbuild's service; the next call starts a new one. */
  stop(): unknown;
}

/**
 * esbuild-wasm's service (a child process) died: "The service was stopped" for the call it held,
 * "The service is no longer running" for calls after. Seen twice in this project's test runs, each
 * time with V8's "Fatal JavaScript invalid size error" in that process; the processor itself was
 * fine. A compile error is not this ("Build failed with n errors").
 */
export function isServiceFailure(err: unknown): boolean {
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /The service (was stopped|is no longer running)/.test(message);
}

/** esbuild-wasm as Artillery resolves it (it is Artillery's dependency, not the project's). */
function artilleryEsbuild(repoRoot: string): EsbuildSync {
  const fromRoot = createRequire(path.join(repoRoot, 'package.json'));
  const fromArtillery = createRequire(fromRoot.resolve('artillery/package.json'));
  return fromArtillery('esbuild-wasm') as EsbuildSync;
}

/**
 * Bundles `processorTs` (absolute) into `outFile` (absolute) and returns `outFile`. Throws with
 * esbuild's message when the processor does not compile. When esbuild's service dies under the
 * call (isServiceFailure), it is stopped and the bundle made once more with a new one.
 */
export function bundleProcessor(
  repoRoot: string,
  processorTs: string,
  outFile: string,
  esbuild: EsbuildSync = artilleryEsbuild(repoRoot),
): string {
  try {
    return build(esbuild, processorTs, outFile);
  } catch (err) {
    if (!isServiceFailure(err)) throw err;
    void esbuild.stop();
    return build(esbuild, processorTs, outFile);
  }
}

function build(esbuild: EsbuildSync, processorTs: string, outFile: string): string {
  esbuild.buildSync({
    entryPoints: [processorTs],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['@playwright/test'],
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
