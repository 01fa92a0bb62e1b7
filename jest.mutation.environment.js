/**
 * Jest's node environment for `pnpm test:mutation`, with one fix to how StrykerJS attributes
 * coverage to tests (coverageAnalysis "perTest").
 *
 * Stryker's environment sets the current test on jest-circus's `test_start` and clears it on
 * `test_done`. A skipped test gets `test_start` and then `test_skip`, never `test_done`, so the
 * skipped test stays "current": everything that runs next in that Jest worker, the next test
 * file's module loading and its beforeAll hooks included, is credited to it. Under Stryker
 * every MySQL describe block is skipped (the config points MYSQL_URL nowhere) and comes last in
 * its file, so module-level code (constants, feature checks) looked covered only by those
 * skipped tests: its mutants were run against them alone and "survived" (found with
 * prebuilt-frame.ts's MERGE_MAX_BYTES, killed by a test Stryker never ran against it).
 *
 * Clearing the current test on `test_skip` and `test_todo` puts that code back where it
 * belongs: outside any test, i.e. static, whose mutants Stryker runs against every test.
 * Stryker wraps this class with its own environment, which calls this handler first.
 */
const { TestEnvironment } = require('jest-environment-node');

class MutationEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    if (event.name === 'test_skip' || event.name === 'test_todo') {
      const context = this.global[this.global.__strykerGlobalNamespace__ ?? '__stryker__'];
      if (context) context.currentTestId = undefined;
    }
  }
}

module.exports = MutationEnvironment;
