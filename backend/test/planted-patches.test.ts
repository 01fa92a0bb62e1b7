/**
 * The planted bugs of `pnpm test:planted` (docs/testing/planted/*.patch) stay plantable. A change
 * to a planted line makes its patch stop applying; the script then fails, but it runs outside
 * `pnpm test`, and four of the six patches once rotted unnoticed that way. Here every patch is
 * checked against the working tree on each test run (`git apply --check`, nothing is changed).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const dir = path.join(root, 'docs/testing/planted');
const patches = readdirSync(dir).filter((f) => f.endsWith('.patch'));

test('there are six planted bugs, as docs/testing.md lists', () => {
  expect(patches).toHaveLength(6);
});

describe.each(patches)('%s', (name) => {
  const text = readFileSync(path.join(dir, name), 'utf8');

  test('says what it plants and names test files that exist', () => {
    expect(text).toMatch(/^Planted bug: \S/m);
    const caughtBy = /^Caught-by: (.+)$/m.exec(text)?.[1] ?? '';
    const files = caughtBy.split(/\s+/).filter((arg) => arg.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect([file, existsSync(path.join(root, file))]).toEqual([file, true]);
  });

  test('still applies to the current code', () => {
    // Throws with git's message (the file and line that no longer match) when it does not.
    execFileSync('git', ['apply', '--check', path.join(dir, name)], { cwd: root, stdio: 'pipe' });
  });
});
