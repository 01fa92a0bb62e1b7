/**
 * The runner's processor bundle (runner/processor-bundle.ts): made once per processor and
 * process with Artillery's own esbuild-wasm, reused after, made again when the file has gone,
 * never cached when the processor does not compile, and removed when the process exits.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../paths';
import { sharedBundle } from '../processor-bundle';

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
