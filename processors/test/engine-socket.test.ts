/**
 * processors/lib/engine-socket.ts: ws 8 into Artillery's real ws engine module. The swap is a
 * dynamic import of an ES module, which Jest's module system cannot run, so those cases run in
 * a child Node process (tsx) against the installed Artillery; the rest runs here.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { artillerySearchPaths, engineModuleUrl, engineWsVersion, swapEngineWs } from '../lib/engine-socket';
import { childEnv } from './helpers/mutant-env';

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(60_000);

/** Runs `body` (CommonJS, `lib` is engine-socket) in a fresh Node process; returns its stdout's JSON. */
function inChild(body: string): { status: number | null; out: unknown; stderr: string } {
  const script = `const lib = require(${JSON.stringify(path.join(ROOT, 'processors/lib/engine-socket.ts'))});
(async () => { ${body} })().then((r) => console.log(JSON.stringify(r)), (e) => { console.log(JSON.stringify({ rejected: e.message })); });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: childEnv(),
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let out: unknown;
  try {
    out = JSON.parse(last);
  } catch {
    out = r.stdout;
  }
  return { status: r.status, out, stderr: r.stderr };
}

describe('engineWsVersion', () => {
  it.each([
    [undefined, '8'],
    ['', '8'],
    ['8', '8'],
    ['7', '7'],
  ])('RELAY_PERF_ENGINE_WS=%p gives ws %s', (raw, version) => {
    expect(engineWsVersion(raw)).toBe(version);
  });

  it.each(['9', '8.0', ' 8', 'ws8', 'true'])('refuses %p, naming the variable and the value', (raw) => {
    expect(() => engineWsVersion(raw)).toThrow(`RELAY_PERF_ENGINE_WS must be 7 or 8, got "${raw}"`);
  });

  it('reads the environment when given nothing', () => {
    const saved = process.env.RELAY_PERF_ENGINE_WS;
    try {
      process.env.RELAY_PERF_ENGINE_WS = '7';
      expect(engineWsVersion()).toBe('7');
      process.env.RELAY_PERF_ENGINE_WS = 'x';
      expect(() => engineWsVersion()).toThrow('got "x"');
    } finally {
      if (saved === undefined) delete process.env.RELAY_PERF_ENGINE_WS;
      else process.env.RELAY_PERF_ENGINE_WS = saved;
    }
  });
});

describe('artillerySearchPaths', () => {
  it("puts the running script's real directory first, then the working directory, then this file's", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'engine-paths-'));
    try {
      const real = path.join(dir, 'real');
      mkdirSync(real);
      writeFileSync(path.join(real, 'run'), '');
      symlinkSync(path.join(real, 'run'), path.join(dir, 'link'));
      expect(artillerySearchPaths(path.join(dir, 'link'), '/cwd', '/here')).toEqual([
        realpathSync(real),
        '/cwd',
        '/here',
      ]);
      // No script (node -e) or one that is not a file: the other two remain.
      expect(artillerySearchPaths('', '/cwd', '/here')).toEqual(['/cwd', '/here']);
      expect(artillerySearchPaths(path.join(dir, 'missing'), '/cwd', '/here')).toEqual(['/cwd', '/here']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('engineModuleUrl', () => {
  it('finds Artillery from its own bin directory, whatever the working directory (a bundle outside the repository)', () => {
    const bin = path.dirname(realpathSync(path.join(ROOT, 'node_modules/artillery/bin/run')));
    expect(engineModuleUrl([bin])).toBe(engineModuleUrl([ROOT]));
  });

  it('names the places searched and the way out when there is no artillery package', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'engine-none-'));
    try {
      expect(() => engineModuleUrl([dir, '/'])).toThrow(
        `no artillery package found from ${dir}, / to swap ws 8 into its engine; set RELAY_PERF_ENGINE_WS=7`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the installed Artillery's ws engine file, symlinks resolved", () => {
    const url = engineModuleUrl();
    expect(url).toMatch(/^file:\/\/\/.*\/artillery\/dist\/lib\/core\/engine_ws\.js$/);
    // pnpm links node_modules/artillery into its store: the URL is the store's real path.
    expect(url).not.toContain(`${pathToFileURL(ROOT).href}/node_modules/artillery/`);
  });
});

describe('swapEngineWs, on the real Artillery engine module (child process)', () => {
  it("replaces the engine's ws 7 class with this project's ws 8, in the instance Artillery uses", () => {
    const { out, stderr } = inChild(`
      const engine = await import(lib.engineModuleUrl());
      const before = engine._deps.WebSocket;
      const what = await lib.swapEngineWs();
      // Imported again by URL, as Artillery's runner did: the same module instance.
      const again = await import(lib.engineModuleUrl());
      return {
        wasProjectWs: before === require('ws'),
        beforeHasStream: typeof before.createWebSocketStream,
        nowProjectWs: again._deps.WebSocket === require('ws'),
        what,
      };`);
    expect(stderr).toBe('');
    expect(out).toEqual({
      wasProjectWs: false,
      // ws 7 already had createWebSocketStream: the class is told apart by identity, not shape.
      beforeHasStream: 'function',
      nowProjectWs: true,
      what: `ws ${require('ws/package.json').version}`,
    });
    expect(require('ws/package.json').version).toMatch(/^8\./);
  });

  it('rejects, naming the way out, when the module has no _deps seam', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'engine-socket-'));
    try {
      const noSeam = path.join(dir, 'engine.mjs');
      writeFileSync(noSeam, 'export const WebSocket = 1;\n');
      const emptySeam = path.join(dir, 'empty.mjs');
      writeFileSync(emptySeam, 'export const _deps = {};\n');
      const { out } = inChild(`
        const results = [];
        for (const f of ${JSON.stringify([noSeam, emptySeam])}) {
          try { await lib.swapEngineWs(require('node:url').pathToFileURL(f).href); results.push('swapped'); }
          catch (e) { results.push(e.message); }
        }
        return results;`);
      expect(out).toEqual([
        expect.stringMatching(/has no _deps\.WebSocket to swap in ws 8; set RELAY_PERF_ENGINE_WS=7$/),
        expect.stringMatching(/empty\.mjs\) has no _deps\.WebSocket/),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('useEngineWs swaps once per thread and says so once', () => {
    const { out, stderr } = inChild(`
      const lines = [];
      const log = console.log;
      console.log = (...a) => lines.push(a.join(' '));
      const first = lib.useEngineWs('8');
      const second = lib.useEngineWs('7');
      const what = [await first, await second];
      console.log = log;
      const engine = await import(lib.engineModuleUrl());
      return { same: first === second, what, lines, swapped: engine._deps.WebSocket === require('ws') };`);
    expect(stderr).toBe('');
    const version = require('ws/package.json').version;
    expect(out).toEqual({
      same: true,
      what: [`ws ${version}`, `ws ${version}`],
      lines: [`generator thread 0: VU sockets from ws ${version}`],
      swapped: true,
    });
  });
});

describe('swapEngineWs, with a module loader standing in for the import', () => {
  const WS8 = require('ws');
  const VERSION = require('ws/package.json').version;

  it("sets the module's _deps.WebSocket to ws 8, loaded from the URL given", async () => {
    const mod = { _deps: { WebSocket: 'ws 7 class' } };
    const load = jest.fn(async () => mod);
    await expect(swapEngineWs('file:///engine.js', load)).resolves.toBe(`ws ${VERSION}`);
    expect(load).toHaveBeenCalledWith('file:///engine.js');
    expect(mod._deps.WebSocket).toBe(WS8);
  });

  it.each([
    ['no _deps', {}],
    ['_deps null', { _deps: null }],
    ['_deps not an object', { _deps: 'x' }],
    ['_deps without WebSocket', { _deps: { Other: 1 } }],
  ])('%s: rejects naming the module and the way out, and changes nothing', async (_why, mod) => {
    const before = JSON.stringify(mod);
    await expect(swapEngineWs('file:///old-engine.js', async () => mod)).rejects.toThrow(
      "Artillery's ws engine (file:///old-engine.js) has no _deps.WebSocket to swap in ws 8; set RELAY_PERF_ENGINE_WS=7",
    );
    expect(JSON.stringify(mod)).toBe(before);
  });
});

describe('useEngineWs (a fresh module per test: its once-per-thread state)', () => {
  const fresh = (): typeof import('../lib/engine-socket') => {
    let lib: typeof import('../lib/engine-socket') | undefined;
    jest.isolateModules(() => {
      lib = require('../lib/engine-socket');
    });
    return lib!;
  };
  let log: jest.SpyInstance;
  beforeEach(() => {
    log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => log.mockRestore());

  it('ws 8: swaps once, says so once, and every later call gets the same promise', async () => {
    const lib = fresh();
    const swap = jest.fn(async () => 'ws 8.9.9');
    const first = lib.useEngineWs('8', swap);
    const second = lib.useEngineWs('7', swap);
    expect(second).toBe(first);
    await expect(first).resolves.toBe('ws 8.9.9');
    expect(swap).toHaveBeenCalledTimes(1);
    expect(log.mock.calls).toEqual([['generator thread 0: VU sockets from ws 8.9.9']]);
  });

  it("ws 7: leaves the engine alone and says the sockets are Artillery's own ws 7", async () => {
    const lib = fresh();
    const swap = jest.fn(async () => 'ws 8.9.9');
    await expect(lib.useEngineWs('7', swap)).resolves.toBe("Artillery's own ws 7");
    expect(swap).not.toHaveBeenCalled();
    expect(log.mock.calls).toEqual([["generator thread 0: VU sockets from Artillery's own ws 7"]]);
  });

  it('a failed swap rejects with its error and prints nothing', async () => {
    const lib = fresh();
    await expect(lib.useEngineWs('8', async () => Promise.reject(new Error('no seam')))).rejects.toThrow(
      'no seam',
    );
    expect(log).not.toHaveBeenCalled();
  });
});
