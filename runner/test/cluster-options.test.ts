import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { HELP, parseCli } from '../commands';
import { clusterOf, DEFAULT_CLUSTER_REDIS, MAX_CLUSTER } from '../options';

const ROOT = path.resolve(__dirname, '..', '..');

describe('--cluster and --redis', () => {
  it('absent: one process, no Redis', () => {
    const o = parseCli([]);
    expect(o).not.toBe('help');
    expect(o).not.toHaveProperty('cluster');
    expect(o).not.toHaveProperty('redisUrl');
  });

  it('--cluster alone uses the local default Redis', () => {
    expect(parseCli(['--cluster', '2'])).toMatchObject({ cluster: 2, redisUrl: DEFAULT_CLUSTER_REDIS });
    expect(DEFAULT_CLUSTER_REDIS).toBe('redis://127.0.0.1:6379');
  });

  it('--cluster with --redis, and with the flags it combines with', () => {
    expect(
      parseCli([
        '--cluster',
        '3',
        '--redis',
        'rediss://u:p@redis.example:6380/2',
        '--db',
        'mysql://root@127.0.0.1:3306/test',
        '--mode',
        'both',
        '--only',
        'throughput-1000',
      ]),
    ).toMatchObject({
      cluster: 3,
      redisUrl: 'rediss://u:p@redis.example:6380/2',
      modes: ['immediate', 'batched'],
      only: ['throughput-1000'],
    });
    expect(parseCli(['--cluster', String(MAX_CLUSTER)])).toMatchObject({ cluster: MAX_CLUSTER });
    expect(parseCli(['--cluster', '1'])).toMatchObject({ cluster: 1 });
  });

  it.each([
    [['--cluster', '0'], /--cluster expects an integer in 1\.\.16, got "0"/],
    [['--cluster', String(MAX_CLUSTER + 1)], /--cluster expects an integer in 1\.\.16/],
    [['--cluster', '1.5'], /--cluster expects an integer/],
    [['--cluster', 'two'], /--cluster expects an integer/],
    [['--cluster', ''], /--cluster expects an integer/],
    [['--redis', 'redis://127.0.0.1:6379'], /--redis is the Redis of a --cluster run/],
    [
      ['--cluster', '2', '--redis', 'http://127.0.0.1:6379'],
      /--redis must be a redis:\/\/ or rediss:\/\/ URL/,
    ],
    [['--cluster', '2', '--redis', 'redis://'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
    [['--cluster', '2', '--target', 'ws://127.0.0.1:8080'], /--cluster starts the relay processes itself/],
    [['--cluster', '2', '--cpu-prof'], /--cpu-prof profiles one relay process/],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(message);
  });

  it('clusterOf is the one validator (also usable without the CLI)', () => {
    expect(clusterOf(undefined, undefined)).toEqual({});
    expect(clusterOf('4', 'redis://h:1')).toEqual({ cluster: 4, redisUrl: 'redis://h:1' });
  });

  it('--help documents both flags', () => {
    expect(HELP).toMatch(/--cluster <n>/);
    expect(HELP).toMatch(/--redis <url>/);
  });

  it('the CLI exits 2 with a clear error before starting anything when the Redis does not answer', () => {
    // Port 1 on the loopback: nothing listens there, the connection is refused at once.
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'runner/cli.ts',
        '--cluster',
        '2',
        '--redis',
        'redis://user:secret@127.0.0.1:1',
        '--no-build',
        '--out',
        '/nonexistent-dir-never-created',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(
      /--cluster needs Redis, but redis:\/\/user:\*\*\*@127\.0\.0\.1:1 did not answer/,
    );
    expect(res.stderr).not.toContain('secret');
    expect(res.stdout).not.toMatch(/Relay cluster of/);
  });
});
