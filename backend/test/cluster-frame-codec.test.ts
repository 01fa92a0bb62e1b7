import { randomBytes } from 'node:crypto';
import { createBus } from '../src/bus/create-bus';
import { decodeFrame, encodeFrame, HEADER_BYTES } from '../src/bus/frame-codec';
import { LocalBus } from '../src/bus/local-bus';
import { RedisBus } from '../src/bus/redis-bus';
import { loadConfig } from '../src/config';

/** The bus frame format: payload bytes unchanged behind a small header; own frames skipped. */
describe('cluster bus frame codec', () => {
  const self = randomBytes(8);
  const peer = randomBytes(8);

  it.each([
    ['empty text', '', false],
    ['multi-byte UTF-8 text (string)', 'héllo ✓ 😀', false],
    ['text as bytes', Buffer.from('{"type":"device_data"}'), false],
    ['empty binary', Buffer.alloc(0), true],
    ['every byte value', Buffer.from(Array.from({ length: 256 }, (_, i) => i)), true],
    ['invalid UTF-8 binary', Buffer.from([0xff, 0xfe, 0x80, 0x00]), true],
    ['64 KiB binary', randomBytes(64 * 1024), true],
  ])('round-trips %s with its frame type', (_name, data, isBinary) => {
    const wire = encodeFrame(peer, data, isBinary);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    expect(wire.length).toBe(HEADER_BYTES + bytes.length);
    const decoded = decodeFrame(wire, self);
    expect(decoded).toBeDefined();
    expect(decoded!.isBinary).toBe(isBinary);
    expect(Buffer.compare(decoded!.payload, bytes)).toBe(0);
  });

  it('skips frames this process published (already delivered locally)', () => {
    expect(decodeFrame(encodeFrame(self, 'x', false), self)).toBeUndefined();
  });

  it('ignores messages too short or of another version', () => {
    expect(decodeFrame(Buffer.alloc(HEADER_BYTES - 1), self)).toBeUndefined();
    const wire = encodeFrame(peer, 'x', false);
    wire[0] = 2;
    expect(decodeFrame(wire, self)).toBeUndefined();
  });

  it('keeps the in-process driver without REDIS_URL, the Redis driver with it', async () => {
    const local = createBus(loadConfig({}));
    expect(local).toBeInstanceOf(LocalBus);
    expect(local.distributed).toBe(false);
    const redis = createBus(loadConfig({ REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(redis).toBeInstanceOf(RedisBus);
    await redis.close(); // lazy: it never connected
  });

  it('refuses a REDIS_URL that is not redis:// or rediss://', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL/);
  });
});
