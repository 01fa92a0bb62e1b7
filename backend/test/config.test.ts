import { ConfigError, loadConfig, pm2Instances } from '../src/config';
import { tempSqliteUrl } from './helpers/databases';
import { freePort, spawnRelay, waitHealthy, within, type RelayProcess } from './helpers/process';

const expectConfigError = (env: Record<string, string>, variable: string) => {
  let error: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toMatch(new RegExp(`\\b${variable}\\b`));
};

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'file:./data/relay.db',
      HEARTBEAT_INTERVAL_MS: 30000,
      HEARTBEAT_SLOTS: 300,
      WS_MAX_PAYLOAD_BYTES: 64 * 1024,
      NODE_ENV: 'development',
    });
    expect(c.API_KEY).toBeUndefined();
  });

  it('parses valid values', () => {
    const c = loadConfig({
      PORT: '0',
      DATABASE_URL: 'mysql://root@127.0.0.1:3306/test',
      STATS_MODE: 'immediate',
      HEARTBEAT_INTERVAL_MS: '250',
      WS_MAX_PAYLOAD_BYTES: '1024',
      API_KEY: 'k'.repeat(16),
    });
    expect(c).toMatchObject({
      PORT: 0,
      DATABASE_URL: 'mysql://root@127.0.0.1:3306/test',
      STATS_MODE: 'immediate',
      HEARTBEAT_INTERVAL_MS: 250,
      WS_MAX_PAYLOAD_BYTES: 1024,
    });
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'file:./data/relay.db',
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'postgres://localhost/db'],
    ['DATABASE_URL', './relay.db'],
    ['STATS_MODE', 'sometimes'],
    ['HEARTBEAT_INTERVAL_MS', '10'],
    ['HEARTBEAT_INTERVAL_MS', 'fast'],
    ['WS_MAX_PAYLOAD_BYTES', '0'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['API_KEY', 'short'],
    ['API_KEY', ' leading-space-key-16'],
    ['API_KEY', 'trailing-space-key-16 '],
  ])('rejects %s=%s with a ConfigError naming the variable', (variable, value) => {
    expectConfigError({ [variable]: value }, variable);
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'x', STATS_MODE: 'y' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/\bPORT\b/);
      expect((err as Error).message).toMatch(/\bSTATS_MODE\b/);
    }
  });

  it('refuses production without API_KEY, accepts it with one', () => {
    expectConfigError({ NODE_ENV: 'production' }, 'API_KEY');
    expectConfigError({ NODE_ENV: 'production', API_KEY: '' }, 'API_KEY');
    expect(loadConfig({ NODE_ENV: 'production', API_KEY: 'p'.repeat(32) }).API_KEY).toBe('p'.repeat(32));
  });

  describe('several PM2 instances need REDIS_URL', () => {
    // What PM2 puts into a cluster worker's environment (ProcessContainer copies the app's pm2_env).
    const worker = (index: number, instances: number | string) => ({
      exec_mode: 'cluster_mode',
      instances: String(instances),
      NODE_APP_INSTANCE: String(index),
    });

    it.each([
      [{}, 1],
      [worker(0, 1), 1],
      [worker(0, 2), 2],
      [worker(1, 2), 2],
      // index 3 exists, so there are at least 4 whatever `instances` says
      [worker(3, 'garbage'), 4],
      [{ NODE_APP_INSTANCE: '2' }, 3],
      [{ NODE_APP_INSTANCE: 'x', instances: '4' }, 1],
      [{ NODE_APP_INSTANCE: '', instances: '4' }, 1],
      // `instances` alone is not PM2's doing
      [{ instances: '4' }, 1],
    ])('pm2Instances(%o) = %i', (env, n) => {
      expect(pm2Instances(env)).toBe(n);
    });

    it('refuses every worker of a cluster of 2 without REDIS_URL, naming REDIS_URL and why', () => {
      for (const index of [0, 1]) {
        let error: unknown;
        try {
          loadConfig(worker(index, 2));
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toMatch(
          /REDIS_URL: required when running as one of 2 PM2 instances/,
        );
        expect((error as Error).message).toMatch(/not see each other's frames/);
      }
    });

    it('accepts a cluster with REDIS_URL, and one PM2 instance without it', () => {
      expect(loadConfig({ ...worker(1, 2), REDIS_URL: 'redis://127.0.0.1:6379' }).REDIS_URL).toBe(
        'redis://127.0.0.1:6379',
      );
      expect(loadConfig(worker(0, 1)).REDIS_URL).toBeUndefined();
    });
  });

  describe('at process start', () => {
    let proc: RelayProcess | undefined;
    afterEach(() => {
      if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    });

    it('outside production without API_KEY: generates a key, prints it once on stderr (not in the JSON log), and it works', async () => {
      const port = await freePort();
      proc = spawnRelay({
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: tempSqliteUrl('genkey'),
        LOG_LEVEL: 'info',
      });
      await waitHealthy(port, proc);
      const lines = proc
        .stderr()
        .split('\n')
        .filter((l) => /API_KEY/.test(l));
      expect(lines).toHaveLength(1);
      const key = /:\s*(\S+)\s*$/.exec(lines[0])?.[1] ?? '';
      expect(key.length).toBeGreaterThanOrEqual(16);
      expect(proc.stdout()).not.toContain(key);
      const ok = await fetch(`http://127.0.0.1:${port}/api/endpoints`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(ok.status).toBe(200);
      const bad = await fetch(`http://127.0.0.1:${port}/api/endpoints`, {
        headers: { authorization: 'Bearer x'.repeat(3) },
      });
      expect(bad.status).toBe(401);
      proc.child.kill('SIGTERM');
      expect((await within(proc.exited, 10000, 'relay did not exit')).code).toBe(0);
    });

    it.each([
      [{ NODE_ENV: 'production', PORT: '0' }, 'API_KEY'],
      [{ PORT: 'not-a-port' }, 'PORT'],
      [{ PORT: '0', exec_mode: 'cluster_mode', instances: '2', NODE_APP_INSTANCE: '1' }, 'REDIS_URL'],
    ])('exits 1 with a message naming the variable (%o)', async (env, variable) => {
      proc = spawnRelay({ ...env, DATABASE_URL: 'file::memory:', LOG_LEVEL: 'error' });
      const exit = await within(proc.exited, 15000, 'process did not exit');
      expect(exit.code).toBe(1);
      expect(proc.stderr()).toMatch(new RegExp(`\\b${variable}\\b`));
    });
  });
});
