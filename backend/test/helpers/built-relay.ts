import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './databases';
import { spawnProcess, type RelayProcess } from './process';

/** The compiled entry point production runs (`pnpm build`, then `node dist/backend/src/main.js`). */
export const BUILT_MAIN = path.join(REPO_ROOT, 'dist/backend/src/main.js');

/**
 * Runs the built relay with exactly the given environment (plus PATH/HOME). Throws when
 * dist/ is missing: build it with `npx tsc -p tsconfig.build.json` first.
 */
export function spawnBuiltRelay(env: Record<string, string>): RelayProcess {
  if (!fs.existsSync(BUILT_MAIN))
    throw new Error(`${BUILT_MAIN} missing: run \`npx tsc -p tsconfig.build.json\` first`);
  return spawnProcess(process.execPath, [BUILT_MAIN], env);
}
