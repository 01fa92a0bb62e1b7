/**
 * scripts/mutation-groups.sh splits the mutation scope of stryker.config.mjs into groups that
 * each end on their own. The two lists are written twice (a shell array, a JS config); this
 * test keeps them the same set of files, so a group run never silently leaves a file of the
 * scope unscored (the runner group once left out runner/results.ts) or scores one outside it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** The config's `mutate` globs, read by importing the config as Stryker does (ESM, own process). */
function configGlobs(): string[] {
  const out = execFileSync(
    process.execPath,
    ['-e', "import('./stryker.config.mjs').then((m) => console.log(JSON.stringify(m.default.mutate)))"],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return JSON.parse(out) as string[];
}

/** `name -> globs` of every entry of the script's `groups=( ... )` array. */
function scriptGroups(): Map<string, string[]> {
  const text = readFileSync(path.join(ROOT, 'scripts/mutation-groups.sh'), 'utf8');
  const block = /^groups=\(\n([\s\S]*?)^\)/m.exec(text);
  if (!block) throw new Error('no groups=( ... ) array in scripts/mutation-groups.sh');
  const groups = new Map<string, string[]>();
  for (const line of block[1].split('\n')) {
    if (line.trim() === '') continue;
    const m = /^\s+"([a-z-]+)=([^"]+)"$/.exec(line);
    if (!m) throw new Error(`unexpected line in groups=( ... ): ${line}`);
    groups.set(m[1], m[2].split(','));
  }
  return groups;
}

/** Every .ts file of the repository outside node_modules and dot-directories, relative to ROOT. */
const tsFiles = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'node_modules' && !d.name.startsWith('.'))
  .flatMap((d) =>
    readdirSync(path.join(ROOT, d.name), { recursive: true, encoding: 'utf8' })
      .filter((f) => !f.split(path.sep).includes('node_modules'))
      .map((f) => path.join(d.name, f)),
  )
  .filter((f) => f.endsWith('.ts'));

/** The repository's .ts files a glob list selects (Stryker's `!` exclusions honoured). */
function expand(globs: string[]): Set<string> {
  const include = globs.filter((g) => !g.startsWith('!'));
  const exclude = globs.filter((g) => g.startsWith('!')).map((g) => g.slice(1));
  return new Set(
    tsFiles.filter(
      (f) => include.some((g) => path.matchesGlob(f, g)) && !exclude.some((g) => path.matchesGlob(f, g)),
    ),
  );
}

describe('mutation scope', () => {
  const groups = scriptGroups();

  it('the script has the groups its header documents', () => {
    expect([...groups.keys()]).toEqual(
      expect.arrayContaining(['processors-lib', 'runner', 'util', 'services-stats', 'services']),
    );
  });

  it('every group selects files, and no file is in two groups', () => {
    const owner = new Map<string, string>();
    for (const [name, globs] of groups) {
      const files = expand(globs);
      expect({ name, files: files.size > 0 }).toEqual({ name, files: true });
      for (const f of files) {
        expect({ file: f, groups: [owner.get(f), name] }).toEqual({ file: f, groups: [undefined, name] });
        owner.set(f, name);
      }
    }
  });

  it('the groups together cover exactly the files stryker.config.mjs mutates', () => {
    const scope = [...expand(configGlobs())].sort();
    const grouped = [...expand([...groups.values()].flat())].sort();
    expect(scope.length).toBeGreaterThan(50);
    expect(grouped).toEqual(scope);
  });
});
