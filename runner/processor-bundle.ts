/**
 * One JavaScript bundle of a scenario's TypeScript processor for several Artillery processes.
 *
 * Artillery bundles a `.ts` processor into `<processor dir>/dist/<name>.js` when it starts and
 * deletes that file when it exits, so K processes started together in one checkout would
 * rewrite the file under each other's worker threads while they load it. Under --generators the
 * runner bundles once, with the bundler and options Artillery itself uses (esbuild-wasm, its own
 * dependency: same output as a hand run), into a file of its own, and points every process at it
 * through `config.processor`; a `.js` processor is loaded as it is.
 */
import { createRequire } from 'node:module';
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
  });
  return outFile;
}
