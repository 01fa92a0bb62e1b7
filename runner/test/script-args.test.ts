import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { num } from '../options';
import { optionArgs, parseScriptArgs, positionalNumbers, usageOf } from '../../scripts/script-args';

const ROOT = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'script-args-'));

function scriptFile(text: string): string {
  const file = path.join(dir, `s-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, text);
  return file;
}

const HEADED = scriptFile(
  [
    '/**',
    ' * Does a thing.',
    ' *',
    ' *   npx tsx x.ts --rate <n>',
    ' */',
    "import x from 'y';",
    '/** not this */',
  ].join('\n'),
);

const CONFIG = { options: { rate: { type: 'string', default: '10' }, pin: { type: 'boolean' } } } as const;
const settings = ({ values }: { values: { rate?: string; pin?: boolean } }) => ({
  rate: num('--rate', values.rate, (n) => n > 0, 'a positive number')!,
  pin: values.pin ?? false,
});

describe('usageOf', () => {
  test("is the file's first doc comment, margins removed, inner indentation kept", () => {
    expect(usageOf(HEADED)).toBe('Does a thing.\n\n  npx tsx x.ts --rate <n>');
  });

  test('a file without a leading doc comment points at the file', () => {
    const bare = scriptFile("import x from 'y';\n/** later */\n");
    expect(usageOf(bare)).toBe(`usage: see ${bare}`);
  });
});

describe('parseScriptArgs', () => {
  test('valid flags and defaults become settings', () => {
    expect(parseScriptArgs(HEADED, CONFIG, settings, ['--rate', '2.5', '--pin'])).toEqual({
      settings: { rate: 2.5, pin: true },
    });
    expect(parseScriptArgs(HEADED, CONFIG, settings, [])).toEqual({ settings: { rate: 10, pin: false } });
  });

  test.each([[['--help']], [['-h']], [['--bogus', '--help']], [['--rate', 'x', '-h']]])(
    '%j prints the usage and exits 0, whatever else is on the line',
    (argv) => {
      expect(parseScriptArgs(HEADED, CONFIG, settings, argv)).toEqual({ exitCode: 0, text: usageOf(HEADED) });
    },
  );

  test.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--rate'], "Option '--rate <value>' argument missing"],
    [['--rate', 'abc'], '--rate expects a positive number, got "abc"'],
    [['--rate', '0'], '--rate expects a positive number, got "0"'],
    [['--rate', ''], '--rate expects a positive number, got ""'],
    [['stray'], "Unexpected argument 'stray'"],
  ])('%j exits 2 with one line naming the problem', (argv, message) => {
    const outcome = parseScriptArgs(HEADED, CONFIG, settings, argv);
    expect(outcome).toEqual({ exitCode: 2, text: expect.stringContaining(message) });
    expect((outcome as { text: string }).text.split('\n')).toEqual([
      expect.stringContaining(message),
      '(--help for usage)',
    ]);
  });

  test('a non-Error thrown by settings is reported as text', () => {
    const outcome = parseScriptArgs(
      HEADED,
      CONFIG,
      () => {
        throw 'plain string';
      },
      [],
    );
    expect(outcome).toEqual({ exitCode: 2, text: 'plain string\n(--help for usage)' });
  });
});

describe('optionArgs', () => {
  const config = { options: { 'api-key': { type: 'string' }, rate: { type: 'string' } } } as const;
  const parse = (argv: string[]) =>
    parseScriptArgs('x.ts', config, ({ values }) => values, argv) as { settings?: unknown; text?: string };

  test('a value that begins with a dash reaches the other script intact', () => {
    const argv = optionArgs({ 'api-key': '-Zk3_q', rate: 5000 });
    expect(argv).toEqual(['--api-key=-Zk3_q', '--rate=5000']);
    expect(parse(argv).settings).toEqual({ 'api-key': '-Zk3_q', rate: '5000' });
  });

  test('the same value as its own element is refused: why optionArgs exists', () => {
    expect(parse(['--api-key', '-Zk3_q']).text).toMatch(/argument is ambiguous/);
  });

  test('values with = or spaces pass whole; an empty object is no arguments', () => {
    expect(parse(optionArgs({ 'api-key': 'a=b c' })).settings).toEqual({ 'api-key': 'a=b c' });
    expect(optionArgs({})).toEqual([]);
  });
});

describe('positionalNumbers', () => {
  const specs = [
    { name: 'count', fallback: 50 },
    { name: 'bytes', fallback: 64, min: 0 },
    { name: 'seconds', fallback: 20, real: true },
  ];

  test('given values in order, the rest their fallbacks', () => {
    expect(positionalNumbers([], specs)).toEqual([50, 64, 20]);
    expect(positionalNumbers(['7'], specs)).toEqual([7, 64, 20]);
    expect(positionalNumbers(['7', '0', '0.5'], specs)).toEqual([7, 0, 0.5]);
  });

  test.each([
    [['0'], 'count expects an integer >= 1, got "0"'],
    [['1.5'], 'count expects an integer >= 1, got "1.5"'],
    [['x'], 'count expects an integer >= 1, got "x"'],
    [['1', '-1'], 'bytes expects an integer >= 0, got "-1"'],
    [['1', '0', '0'], 'seconds expects a positive number, got "0"'],
    [['1', '0', 'Infinity'], 'seconds expects a positive number, got "Infinity"'],
    [['1', '2', '3', '4'], 'expects at most 3 arguments (count, bytes, seconds), got 4'],
  ])('%j is refused: %s', (raw, message) => {
    expect(() => positionalNumbers(raw, specs)).toThrow(new Error(message));
  });
});

/** Runs a script as a user does (tsx), with a bounded wait. */
function run(script: string, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

// The scripts themselves: each answers --help with its header and refuses a bad value before it
// starts anything (no relay, no endpoint, no socket), exit 2.
describe.each([
  ['scripts/plain-ws-driver.ts', ['--rate', 'abc'], '--rate expects'],
  ['scripts/compare-pack-plain.ts', ['--rates', '1000,x'], '--rates expects'],
  ['scripts/cluster-connections.ts', ['--connections', '1'], '--connections expects an integer >= 2'],
  ['scripts/gc-pauses.ts', [], 'expects one --trace-gc log, got 0'],
  ['scripts/broadcast-bench.ts', ['50', 'x'], 'frames expects an integer >= 1, got "x"'],
  ['scripts/heartbeat-burst.ts', ['0'], 'sockets expects an integer >= 1, got "0"'],
  ['scripts/slow-consumer-rss.ts', ['20', '100', '1', '2'], 'expects at most 3 arguments'],
  ['scripts/device-data-interference.ts', ['fast'], 'the first argument must be device or plain, got "fast"'],
  ['scripts/receive-path-bench.ts', ['--conns', '1'], '--conns expects an integer >= 2, got "1"'],
])('%s', (script, bad, message) => {
  test('--help prints its header comment and exits 0', () => {
    const r = run(script, ['--help']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.trim()).toBe(usageOf(path.join(ROOT, script)));
  });

  test(`${bad.join(' ') || 'no arguments'}: exit 2, the reason on stderr, nothing on stdout`, () => {
    const r = run(script, bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});

// Options that go together or depend on another: refused as a whole, before anything starts.
test.each([
  [
    'scripts/plain-ws-driver.ts',
    ['--window-dir', '/tmp/w'],
    '--window-dir, --window-index and --window-parties go together',
  ],
  [
    'scripts/plain-ws-driver.ts',
    ['--window-dir', '/tmp/w', '--window-index', '2', '--window-parties', '2'],
    '--window-index expects an integer in [0, 2), got "2"',
  ],
  [
    'scripts/plain-ws-driver.ts',
    ['--window-dir', '/tmp/w', '--window-index', '0', '--window-parties', '1'],
    '--window-parties expects an integer >= 2, got "1"',
  ],
  [
    'scripts/compare-pack-plain.ts',
    ['--paired', '--generators', '2'],
    '--paired runs the pack as one process',
  ],
])('%s %j: exit 2 with the reason', (script, bad, message) => {
  const r = run(script, bad);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(message);
  expect(r.stdout).toBe('');
});

describe('scripts/receive-path-bench.ts', () => {
  test('runs its reps on a small load, each exactly accounted, and prints the median', () => {
    const r = run('scripts/receive-path-bench.ts', [
      '--endpoints',
      '3',
      '--conns',
      '4',
      '--frames',
      '300',
      '--reps',
      '2',
    ]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    // 300 frames, each to the 3 other connections of its endpoint.
    expect(r.stdout).toMatch(/^rep 1: \d+ ns\/delivery, \d+ ns\/send \(900 deliveries\)$/m);
    expect(r.stdout).toMatch(/^rep 2: .*\(900 deliveries\)$/m);
    expect(r.stdout).toMatch(/^median: \d+ ns\/delivery, \d+ ns\/send$/m);
  });
});
