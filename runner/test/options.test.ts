import { HELP, parseCli } from '../commands';
import { RUN_DOCUMENTS, runDocument } from '../report/documents';

describe('parseCli', () => {
  it('defaults to the quick profile on a relay it starts itself', () => {
    expect(parseCli([])).toMatchObject({
      command: 'run',
      profile: 'quick',
      only: [],
      modes: ['batched'],
      statsMode: 'batched',
      cpuProf: false,
      slowLog: false,
      build: true,
      publish: false,
    });
  });

  it('reads every flag', () => {
    const o = parseCli([
      '--profile',
      'smoke',
      '--only',
      'throughput-100,single-endpoint-10',
      '--only',
      'stability',
      '--db',
      'mysql://root@127.0.0.1:3306/test',
      '--stats-mode',
      'batched',
      '--out',
      '/tmp/x',
      '--run-id',
      'r1',
      '--gate-p95',
      '0.001',
      '--gate-max-lost',
      '0',
      '--publish',
      '--no-build',
    ]);
    expect(o).toMatchObject({
      profile: 'smoke',
      only: ['throughput-100', 'single-endpoint-10', 'stability'],
      db: 'mysql://root@127.0.0.1:3306/test',
      statsMode: 'batched',
      outDir: '/tmp/x',
      runId: 'r1',
      gates: { p95Ms: 0.001, maxLost: 0 },
      publish: true,
      build: false,
    });
  });

  it.each([
    [['--mode', 'baseline'], ['immediate']],
    [['--mode', 'optimized'], ['batched']],
    [
      ['--mode', 'both'],
      ['immediate', 'batched'],
    ],
    [['--stats-mode', 'immediate'], ['immediate']],
  ])('%j runs the relay in %j', (args, modes) => {
    expect(parseCli(args)).toMatchObject({ modes, statsMode: modes[0] });
  });

  it('--cpu-prof and --slow-log', () => {
    expect(parseCli(['--cpu-prof', '--slow-log', '--db', 'mysql://root@127.0.0.1/test'])).toMatchObject({
      cpuProf: true,
      slowLog: true,
    });
  });

  it.each([
    [['--profile', 'huge'], /--profile must be one of smoke\|quick\|full/],
    [['--stats-mode', 'lazy'], /--stats-mode must be one of/],
    [['--mode', 'fast'], /--mode must be one of baseline\|optimized\|both/],
    [['--mode', 'both', '--stats-mode', 'batched'], /give one/],
    [['--target', 'ws://x:1', '--mode', 'both'], /need a relay the runner starts/],
    [['--slow-log'], /--slow-log reads the MySQL slow query log/],
    [['--target', 'http://x:1'], /--target must be a ws:\/\//],
    [['--target', 'ws://x:1', '--db', 'file:/tmp/a.db'], /cannot be combined/],
    [['--db', 'postgres://x'], /--db must be/],
    [['--gate-p95', 'fast'], /--gate-p95 expects a positive number/],
    [['--gate-min-send-ratio', '1.5'], /ratio in \(0, 1\]/],
    [['--run-id', '../escape'], /--run-id may only contain/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /unexpected argument "stray"/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseCli(argv as string[])).toThrow(message);
  });

  it('parses the render subcommand: one flag per published document, in registry order', () => {
    expect(parseCli(['render', 'reports/a', 'reports/b', '--baseline'])).toEqual({
      command: 'render',
      runDirs: ['reports/a', 'reports/b'],
      documents: ['baseline'],
    });
    expect(() => parseCli(['render'])).toThrow(/at least one run directory/);
    expect(parseCli(['render', 'reports/p1', '--acceptance', '--pool-sizing'])).toMatchObject({
      documents: ['pool-sizing', 'acceptance'],
    });
    expect(() => parseCli(['render', 'reports/a', '--bogus'])).toThrow(/Unknown option '--bogus'/);
    expect(runDocument('pool-sizing').path).toBe('docs/performance/pool-sizing.md');
    expect(runDocument('acceptance').path).toBe('docs/performance/acceptance-report.md');
  });

  it("generates render's flags and help from the document registry", () => {
    for (const doc of RUN_DOCUMENTS) {
      expect(parseCli(['render', 'r', `--${doc.flag}`])).toMatchObject({ documents: [doc.flag] });
      expect(HELP).toContain(`[--${doc.flag}]`);
      expect(HELP).toMatch(new RegExp(`--${doc.flag} +${doc.path} `));
    }
  });

  it.each(['explain', 'flush-bench', 'render', ''])('"%s" --help asks for the help text', (cmd) => {
    const words = cmd ? [cmd] : [];
    expect(parseCli([...words, '--help'])).toBe('help');
    expect(parseCli([...words, '-h'])).toBe('help');
  });

  it('rejects unknown scenario names before anything starts', () => {
    // validated in the catalog, which the runner consults first
    const { scenariosFor } = jest.requireActual('../catalog') as typeof import('../catalog');
    expect(() => scenariosFor('quick', ['nope'])).toThrow(/unknown scenario\(s\): nope/);
  });
});
