// @ts-check
/**
 * StrykerJS for `pnpm test:mutation`. docs/testing.md explains the scope, what is
 * excluded and why, run times and the measured scores.
 */

// The runner is being restructured; its correctness modules (results, gates, loss) are
// listed on their own so the globs are easy to update when files move.
const runnerCorrectness = [
  'runner/scenario-result.ts',
  'runner/results.ts',
  'runner/gates.ts',
  'runner/generator-health.ts',
  'runner/capacity/search.ts',
];

const mutate = [
  'backend/src/services/**/*.ts',
  'backend/src/websocket/**/*.ts',
  'backend/src/util/**/*.ts',
  'processors/lib/**/*.ts',
  ...runnerCorrectness,
];

// SQLite only. The MariaDB suites share one database per run (MYSQL_URL), which parallel
// Stryker workers would write to concurrently, and they would double every mutant's cost.
// Without MYSQL_URL the tests fall back to a shared default database, so point it at a
// port nothing listens on: the MySQL describe blocks are then skipped with a warning.
process.env.MYSQL_URL = 'mysql://root@127.0.0.1:1/stryker_sqlite_only';
delete process.env.REQUIRE_MYSQL;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'pnpm',
  // Stryker finds plugins next to its own package; pnpm keeps them apart, so name them
  // by the URL this project resolves them to.
  plugins: [
    import.meta.resolve('@stryker-mutator/jest-runner'),
    import.meta.resolve('@stryker-mutator/typescript-checker'),
  ],
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.mutation.config.js', enableFindRelatedTests: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  coverageAnalysis: 'perTest',
  mutate,
  // Run reports and local databases are not inputs of any test. dist/ is: a shutdown test
  // spawns the built relay (`pnpm test:mutation` builds it first).
  ignorePatterns: [
    '/reports',
    '/data',
    '/coverage',
    '*.db',
    '*.db-*',
    '*.cpuprofile',
    '!runner/test/fixtures/*.cpuprofile',
    'docs/testing/stryker-incremental.json',
  ],
  incremental: true,
  // Kept in the repo so a run only re-tests mutants whose code or covering tests changed.
  // A run narrowed with --mutate carries the other files' results over unchanged.
  incrementalFile: 'docs/testing/stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 80, low: 60, break: null },
  // The tests start real servers and wait on sockets; a contended machine needs headroom.
  timeoutFactor: 2,
  timeoutMS: 10000,
  // The dry run executes every related suite once; with other jobs on the 2 cores it took
  // over Stryker's default 5 minutes and the whole run aborted before testing a mutant.
  dryRunTimeoutMinutes: 45,
  tempDirName: '.stryker-tmp',
};
