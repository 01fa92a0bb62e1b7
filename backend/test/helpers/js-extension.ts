/**
 * WORKAROUND (see report): the Prisma clients are generated with `importFileExtension = "js"`,
 * so `backend/src/generated/**` imports `./internal/class.js` etc., which Jest cannot resolve
 * because jest.config.js has no moduleNameMapper for `.js` -> `.ts`. Until the config maps it
 * (`moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' }`), this registers each such import as a
 * virtual module that loads the real .ts file. Import it before anything from backend/src.
 * Harmless once the mapper exists (the .js ids are then never requested).
 */
import fs from 'node:fs';
import path from 'node:path';

const GENERATED = path.resolve(__dirname, '../../src/generated');
const IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)["'](\.{1,2}\/[^"']+)\.js["']/g;

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    return d.isDirectory() ? walk(full) : d.name.endsWith('.ts') ? [full] : [];
  });
}

const seen = new Set<string>();
for (const file of walk(GENERATED)) {
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT)) {
    const target = path.resolve(path.dirname(file), m[1]);
    if (seen.has(target) || !fs.existsSync(`${target}.ts`)) continue;
    seen.add(target);
    jest.doMock(`${target}.js`, () => jest.requireActual(`${target}.ts`), { virtual: true });
  }
}
