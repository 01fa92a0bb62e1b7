import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './databases';
import type { RelayProcess } from './process';

/** The compiled entry point production runs (`pnpm build`, then `node dist/backend/src/main.js`). */
export const BUILT_MAIN = path.join(REPO_ROOT, 'dist/backend/src/main.js');

/**
 * Runs the built relay with exactly the given environment (plus PATH/HOME). Throws when
 * dist/ is missing: build it with `npx tsc -p tsconfig.build.json` first.
 */
export function spawnBuiltRelay(env: Record<string, string>): RelayProcess {
  if (!fs.existsSync(BUILT_MAIN))
    throw new Error(`${BUILT_MAIN} missing: run \`npx tsc -p tsconfig.build.json\` first`);
  const child = spawn(process.execPath, [BUILT_MAIN], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}
