import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GENERATOR_NODE_FLAGS, runArtillery } from '../artillery-process';

// A stand-in for Artillery's launcher that prints how Node started it: what reaches the real
// one is the command line runArtillery builds, so this checks that line, not a copy of it.
let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'relay-artillery-process-'));
  const bin = path.join(root, 'node_modules', 'artillery', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    path.join(bin, 'run'),
    'console.log(JSON.stringify({ execArgv: process.execArgv, args: process.argv.slice(2) }));\n',
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function launch() {
  return runArtillery({
    repoRoot: root,
    scenarioFile: 'artillery/throughput-1000.yml',
    commonConfig: 'artillery/common.yml',
    target: 'ws://127.0.0.1:1',
    overrides: { config: { variables: { ratePlan: '10' } } },
    outputJson: path.join(root, 'report.json'),
    logFile: path.join(root, 'artillery.log'),
    env: { ...process.env },
    timeoutMs: 30_000,
  });
}

describe('runArtillery', () => {
  it('starts every generator process with the generator Node flags, the memory reducer off among them', async () => {
    const run = await launch();
    expect(run.exitCode).toBe(0);
    const seen = JSON.parse(run.output.trim()) as { execArgv: string[]; args: string[] };
    expect(GENERATOR_NODE_FLAGS).toContain('--no-memory-reducer');
    // Node flags, not the launcher's arguments: V8 takes them only before the script.
    expect(seen.execArgv).toEqual(expect.arrayContaining([...GENERATOR_NODE_FLAGS]));
    expect(seen.args).not.toContain('--no-memory-reducer');
    expect(seen.args.slice(0, 3)).toEqual(['run', '--config', 'artillery/common.yml']);
    expect(seen.args[seen.args.length - 1]).toBe('artillery/throughput-1000.yml');
  });
});
