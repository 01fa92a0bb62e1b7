/**
 * Which `ws` major version Artillery's ws engine opens each VU's socket with.
 *
 * Artillery 2.0.34 depends on ws 7; its engine keeps the class in a mutable object meant for
 * replacing it (`export const _deps = { WebSocket }` in dist/lib/core/engine_ws.js, commented
 * "replace the WebSocket implementation through this mutable object"). The throughput
 * processor (processors/relay.ts) puts the ws 8 this project depends on there, in each
 * generator thread, before that thread's first socket opens.
 *
 * Why: with ws 7 the generator's worker thread spent 0.49 s more in the socket library than
 * the plain-ws driver (ws 8) over a 20 s hold at 5,000 msg/s in (V8 profiles, docs/performance/
 * README.md "Who takes the generator's core"), on the thread whose saturation is what makes the
 * pack's latencies its own. ws 8 hands a text frame to 'message' as a Buffer instead of a
 * decoded string; the processors' frame decoder takes both (processors/lib/frame.ts).
 *
 * `RELAY_PERF_ENGINE_WS=7` keeps Artillery's own ws 7 (to compare the two).
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import WebSocket from 'ws';
import wsPackage from 'ws/package.json';

export type EngineWsVersion = '7' | '8';

/** RELAY_PERF_ENGINE_WS: '8' when unset or empty, '7'; throws on anything else, naming the variable. */
export function engineWsVersion(raw = process.env.RELAY_PERF_ENGINE_WS): EngineWsVersion {
  if (raw === undefined || raw === '' || raw === '8') return '8';
  if (raw === '7') return '7';
  throw new Error(`RELAY_PERF_ENGINE_WS must be 7 or 8, got "${raw}"`);
}

/**
 * What produces a run's VU sockets, as reports and the generator's log name it: `ws 8.x.y` (the
 * version installed) or Artillery's own ws 7.
 */
export function engineWsLabel(version: EngineWsVersion): string {
  return version === '7' ? "Artillery's own ws 7" : `ws ${wsPackage.version}`;
}

/**
 * Where to look for the artillery package, best first: the directory of the script this
 * process runs (Artillery's own bin/run, symlinks resolved: the Artillery actually running),
 * the working directory, this file's directory (in a bundle: the bundle's). Why not only the
 * last: a processor bundle may live outside any node_modules tree (the runner's and the tests'
 * bundles in a temporary directory), and a hand run's NODE_PATH is not always there to help.
 */
export function artillerySearchPaths(
  script: string | undefined = process.argv[1],
  cwd = process.cwd(),
  here = __dirname,
): string[] {
  const paths: string[] = [];
  if (script) {
    try {
      paths.push(path.dirname(realpathSync(script)));
    } catch {
      // Not a file (node -e): the other places remain.
    }
  }
  return [...paths, cwd, here];
}

/**
 * file: URL of Artillery's ws engine module: the artillery package found from `paths`
 * (artillerySearchPaths), dist/lib/core/engine_ws.js in it, symlinks resolved, which is the URL
 * Node's module cache knows the instance Artillery loaded by. Throws naming the places searched
 * and the way out when there is no artillery package.
 */
export function engineModuleUrl(paths: string[] = artillerySearchPaths()): string {
  let manifest: string;
  try {
    manifest = require.resolve('artillery/package.json', { paths });
  } catch {
    throw new Error(
      `no artillery package found from ${paths.join(', ')} to swap ws 8 into its engine; set RELAY_PERF_ENGINE_WS=7`,
    );
  }
  const root = path.dirname(realpathSync(manifest));
  return pathToFileURL(path.join(root, 'dist', 'lib', 'core', 'engine_ws.js')).href;
}

/** Loads an ES module by URL: Node's own dynamic import, for the engine module. */
export type ModuleLoader = (url: string) => Promise<unknown>;

// Built with Function so that no compiler rewrites it: TypeScript's CommonJS output turns a
// dynamic import() into require(), which cannot load an ES module on Node 20.
const importModule = new Function('url', 'return import(url)') as ModuleLoader;

/**
 * Sets the `WebSocket` of the ES module at `url` (Artillery's ws engine), loaded with `load`, to
 * ws 8. Resolves with a one-line description of the sockets VUs now get (`ws 8.x.y`). Rejects
 * when the module has no `_deps` object holding a `WebSocket` (an Artillery version without the
 * seam): a run must not silently use another socket library than the one it says.
 */
export async function swapEngineWs(
  url: string = engineModuleUrl(),
  load: ModuleLoader = importModule,
): Promise<string> {
  const mod = (await load(url)) as { _deps?: { WebSocket?: unknown } | null };
  const deps = mod._deps;
  if (typeof deps !== 'object' || deps === null || !('WebSocket' in deps))
    throw new Error(
      `Artillery's ws engine (${url}) has no _deps.WebSocket to swap in ws 8; set RELAY_PERF_ENGINE_WS=7`,
    );
  deps.WebSocket = WebSocket;
  return engineWsLabel('8');
}

let inUse: Promise<string> | undefined;

/**
 * Once per generator thread (later calls return the first call's promise, whatever they ask):
 * `swap` (ws 8 into the engine) unless `version` is '7'. Prints which library the thread's VU
 * sockets come from, so a run's log says what produced its numbers. Rejects as `swap` does.
 */
export function useEngineWs(
  version: EngineWsVersion,
  swap: () => Promise<string> = swapEngineWs,
): Promise<string> {
  inUse ??= (version === '7' ? Promise.resolve(engineWsLabel('7')) : swap()).then((what) => {
    console.log(`generator thread ${threadId}: VU sockets from ${what}`);
    return what;
  });
  return inUse;
}
