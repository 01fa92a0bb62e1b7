/**
 * The runner's processor bundle (runner/processor-bundle.ts): made once per processor and
 * process with Artillery's own esbuild-wasm, reused after, made again when the file has gone,
 * never cached when the processor does not compile, and removed when the process exits.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SCENARIOS } from '../catalog';
import { loadSharedGates } from '../gates';
import { ARTILLERY_DIR, COMMON_CONFIG, REPO_ROOT } from '../paths';
import { sharedBundle } from '../processor-bundle';
import { runScenario } from '../scenario';

describe('sharedBundle', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bundle-test-'));
  });
  /** The bundles' directory of this Jest process: Jest's sandboxed `process` may not run exit listeners. */
  let bundles: string | undefined;
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (bundles) rmSync(bundles, { recursive: true, force: true });
  });

  const processor = (name: string, body: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, body);
    return file;
  };

  it('bundles a TypeScript processor into CommonJS once and returns the same file after', () => {
    const ts = processor('one.ts', 'export function hello(x: number): number { return x + 1; }\n');
    const first = sharedBundle(REPO_ROOT, ts);
    bundles = path.dirname(first);
    expect(path.basename(first)).toMatch(/-one\.js$/);
    expect(path.dirname(first)).not.toBe(dir);
    const loaded = require(first) as { hello: (x: number) => number };
    expect(loaded.hello(41)).toBe(42);
    const made = statSync(first).mtimeMs;
    expect(sharedBundle(REPO_ROOT, ts)).toBe(first);
    expect(statSync(first).mtimeMs).toBe(made);
  });

  it('gives each processor its own file, and makes a bundle again when its file has gone', () => {
    const a = processor('a.ts', 'export const which = "a";\n');
    const b = processor('b.ts', 'export const which = "b";\n');
    const fa = sharedBundle(REPO_ROOT, a);
    const fb = sharedBundle(REPO_ROOT, b);
    expect(fa).not.toBe(fb);
    expect(readFileSync(fb, 'utf8')).toContain('"b"');
    unlinkSync(fa);
    const again = sharedBundle(REPO_ROOT, a);
    expect(existsSync(again)).toBe(true);
    expect(readFileSync(again, 'utf8')).toContain('"a"');
  });

  it("throws esbuild's message for a processor that does not compile, and caches nothing", () => {
    const bad = processor('bad.ts', 'export const x = ;\n');
    expect(() => sharedBundle(REPO_ROOT, bad)).toThrow(/Expected|Unexpected/);
    writeFileSync(bad, 'export const x = 1;\n');
    expect(readFileSync(sharedBundle(REPO_ROOT, bad), 'utf8')).toContain('x = 1');
  });

  it("gives esbuild's error with stderr a regular file (where esbuild-wasm's own logging killed its service)", () => {
    const bad = processor('bad-to-file.ts', 'export const x = ;\n');
    const script = `
      const { sharedBundle } = require(${JSON.stringify(path.join(REPO_ROOT, 'runner/processor-bundle.ts'))});
      try { sharedBundle(${JSON.stringify(REPO_ROOT)}, ${JSON.stringify(bad)}); } catch (err) { process.stdout.write(err.message); }`;
    const errFile = path.join(dir, 'stderr.log');
    const fd = openSync(errFile, 'w');
    try {
      const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', fd],
      });
      expect(child.status).toBe(0);
      expect(child.stdout).toMatch(/^Build failed with 1 error:[\s\S]*Unexpected ";"/);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(errFile, 'utf8')).not.toMatch(/Fatal/);
  });

  it('removes its directory when the process exits', () => {
    const ts = processor('exit.ts', 'export const y = 2;\n');
    const script = `
      const { sharedBundle } = require(${JSON.stringify(path.join(REPO_ROOT, 'runner/processor-bundle.ts'))});
      process.stdout.write(sharedBundle(${JSON.stringify(REPO_ROOT)}, ${JSON.stringify(ts)}));`;
    const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(child.status).toBe(0);
    const file = child.stdout.trim();
    expect(file).toMatch(/relay-perf-processors-.*-exit\.js$/);
    expect(existsSync(path.dirname(file))).toBe(false);
  });
});

describe('runScenario with a processor that does not compile', () => {
  it('is an error naming the processor and the compiler message, and starts no Artillery', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bundle-scenario-'));
    try {
      const spec = SCENARIOS.find((s) => s.name === 'throughput-100')!;
      // The scenario file, unchanged but for its processor: one that does not compile.
      const yml = readFileSync(path.join(REPO_ROOT, ARTILLERY_DIR, spec.file), 'utf8');
      expect(yml).toContain('processor: ../processors/relay.ts');
      writeFileSync(path.join(dir, 'broken.ts'), 'export const x = ;\n');
      writeFileSync(path.join(dir, 'scenario.yml'), yml.replace('../processors/relay.ts', './broken.ts'));
      const file = path.relative(path.join(REPO_ROOT, ARTILLERY_DIR), path.join(dir, 'scenario.yml'));
      const result = await runScenario({
        spec: { ...spec, file },
        index: 1,
        total: 1,
        profile: 'smoke',
        passDir: dir,
        runId: 'bundle-error',
        // Nothing listens here: no relay is needed to fail before Artillery starts.
        target: 'http://127.0.0.1:9',
        apiKey: undefined,
        relayPids: [],
        sharedGates: loadSharedGates(path.join(REPO_ROOT, COMMON_CONFIG)),
      });
      expect(result.status).toBe('error');
      expect(result.error).toMatch(/^could not bundle the processor .*broken\.ts: /);
      expect(result.error).toMatch(/Expected|Unexpected/);
      // Artillery never ran: it would have left its log.
      expect(existsSync(path.join(dir, `${spec.name}.artillery.log`))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
