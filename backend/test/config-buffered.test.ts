import { ConfigError, loadConfig } from '../src/config';
import { tempSqliteUrl } from './helpers/databases';
import { freePort, spawnRelay, within } from './helpers/process';

/** WS_MAX_BUFFERED_BYTES: a positive whole number of bytes, 1 MiB by default. */

function configError(value: string): ConfigError {
  try {
    loadConfig({ WS_MAX_BUFFERED_BYTES: value });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`WS_MAX_BUFFERED_BYTES=${JSON.stringify(value)} was accepted`);
}

describe('WS_MAX_BUFFERED_BYTES', () => {
  it('defaults to 1 MiB, also when set empty', () => {
    expect(loadConfig({}).WS_MAX_BUFFERED_BYTES).toBe(1024 * 1024);
    expect(loadConfig({ WS_MAX_BUFFERED_BYTES: '' }).WS_MAX_BUFFERED_BYTES).toBe(1024 * 1024);
  });

  it.each([
    ['1', 1],
    ['65536', 65536],
    ['268435456', 268435456],
  ])('accepts %s bytes', (value, bytes) => {
    expect(loadConfig({ WS_MAX_BUFFERED_BYTES: value }).WS_MAX_BUFFERED_BYTES).toBe(bytes);
  });

  it.each(['0', '-1', '1.5', 'abc', '1MiB', ' '])('refuses %j with a ConfigError naming it', (value) => {
    expect(configError(value).message).toMatch(/^Invalid configuration: .*\bWS_MAX_BUFFERED_BYTES\b/);
  });

  it('stops the relay at start, before listening', async () => {
    const port = await freePort();
    const proc = spawnRelay({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: tempSqliteUrl('buffered'),
      WS_MAX_BUFFERED_BYTES: '0',
    });
    const exit = await within(proc.exited, 20_000, 'relay exit');
    expect(exit.code).toBe(1);
    expect(proc.stderr()).toMatch(/Invalid configuration: .*WS_MAX_BUFFERED_BYTES/);
  });
});
