import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Whether an outside service a suite needs (MySQL, Redis) can be used, decided once per test
 * file at collection time: Jest registers `describe` or `describe.skip` before any hook runs,
 * so the probe is synchronous (a child process with the service's own client).
 */

const REPO_ROOT = path.resolve(__dirname, '../../..');

/**
 * Scripts run as `node -e <script> <url>`: exit 0 once the service answered one request, else
 * write the client's error to stderr and exit 1. Each connects with a 2 s timeout, no retries.
 */
export const PROBE_SCRIPTS = {
  mysql: `
    const u = new URL(process.argv[1]);
    require('mariadb').createConnection({
      host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password), database: u.pathname.slice(1), connectTimeout: 2000,
    }).then((c) => c.query('SELECT 1').then(() => c.end()))
      .then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.message)); process.exit(1); });`,
  redis: `
    const Redis = require('ioredis');
    const r = new Redis(process.argv[1], { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0,
      retryStrategy: () => null });
    r.on('error', () => undefined);
    r.connect().then(() => r.ping()).then(() => r.quit())
      .then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.message)); process.exit(1); });`,
} as const;

export type ServiceKind = keyof typeof PROBE_SCRIPTS;

/**
 * Runs the kind's probe against `url` (at most 8 s). Returns undefined when the service
 * answered, else why not (the client's error message, at most 300 characters).
 */
export function probeService(kind: ServiceKind, url: string): string | undefined {
  try {
    execFileSync(process.execPath, ['-e', PROBE_SCRIPTS[kind], url], {
      cwd: REPO_ROOT,
      timeout: 8000,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return (e.stderr?.toString().trim() || e.message).slice(0, 300);
  }
}

/**
 * What a suite does about a service: `run` it; `fail` every test with `reason` (the service is
 * required, REQUIRE_MYSQL=1 / REQUIRE_REDIS=1, but unusable); or `skip` it (reported as skipped,
 * never as passed) with `reason`.
 */
export type ServiceVerdict = { action: 'run' } | { action: 'fail' | 'skip'; reason: string };

/**
 * The verdict for a service from its probe's outcome (`problem`: undefined when usable) and
 * whether the environment requires it (`process.env[requireVar] === '1'`).
 */
export function serviceVerdict(
  problem: string | undefined,
  requireVar: 'REQUIRE_MYSQL' | 'REQUIRE_REDIS',
  env: NodeJS.ProcessEnv = process.env,
): ServiceVerdict {
  if (problem === undefined) return { action: 'run' };
  return env[requireVar] === '1'
    ? { action: 'fail', reason: `${requireVar}=1 but ${problem}` }
    : { action: 'skip', reason: `${problem}; set ${requireVar}=1 to fail instead` };
}
