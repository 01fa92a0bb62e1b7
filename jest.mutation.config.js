/**
 * Jest config for `pnpm test:mutation` (StrykerJS): the normal config minus the suites
 * that only exercise code in child processes. Stryker measures coverage, and activates
 * mutants, inside the Jest worker only, so a relay or Artillery run in a child process
 * cannot kill a mutant; those suites would only add minutes to every run that has to
 * execute all tests (the dry run, and mutants reached at module load).
 */
const path = require('node:path');
const base = require('./jest.config.js');

/**
 * MUTATION_TESTS="backend/test/a.test.ts,backend/test/b.test.ts": a focused run over these
 * suites only, for files every relay-level test reaches (persistence, the token cache), where
 * a full run costs hours. Its score is a lower bound: a mutant another suite would kill
 * counts as survived. Use it with its own --incrementalFile so the shared file stays whole.
 */
const focused = (process.env.MUTATION_TESTS ?? '')
  .split(',')
  .map((f) => f.trim())
  .filter(Boolean);

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // Stryker wraps this environment; it fixes Stryker's coverage attribution after a skipped test.
  testEnvironment: path.join(__dirname, 'jest.mutation.environment.js'),
  ...(focused.length > 0 ? { testMatch: focused.map((f) => `<rootDir>/${f}`) } : {}),
  testPathIgnorePatterns: [
    '/node_modules/',
    // `pnpm test:performance` through a child process: relay and Artillery both out of process.
    '<rootDir>/runner/test/smoke\\.e2e\\.test\\.ts$',
    // The processor inside an Artillery child process, against a fake relay (no relay code).
    '<rootDir>/processors/test/relay-processor\\.test\\.ts$',
    // Relay processes (cluster, PM2), the generator and the reference relay, all out of process.
    '<rootDir>/backend/test/cluster-(relay|outage|pm2)\\.test\\.ts$',
    '<rootDir>/runner/test/invalid-generator\\.e2e\\.test\\.ts$',
    '<rootDir>/runner/test/reference-relay\\.test\\.ts$',
  ],
};
