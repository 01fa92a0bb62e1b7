import { mayBeDeviceFrame, parseDeviceFrame } from '../src/websocket/device-frame';

/**
 * Which frames are device data: the byte search that lets ordinary frames through unparsed,
 * and the parse that decides between a reading, a malformed reading and "not device data".
 */

const buf = (s: string) => Buffer.from(s, 'utf8');
const json = (v: unknown) => buf(JSON.stringify(v));

describe('mayBeDeviceFrame (byte search)', () => {
  test.each([
    ['a device frame', '{"type":"device_data","deviceId":"d","data":{}}'],
    ['the type anywhere, spaced', '{ "data": {}, "type" : "device_data" }'],
    ['the marker only as a value of another key', '{"note":"device_data"}'],
    ['not JSON at all, but holding the quoted marker', 'xx "device_data" yy'],
  ])('true for %s', (_, text) => {
    expect(mayBeDeviceFrame(buf(text))).toBe(true);
  });

  test.each([
    ['a chat frame', '{"type":"chat","text":"hello"}'],
    ['the word without quotes', 'device_data'],
    ['a prefix of the marker', '"device_dat'],
    ['another casing', '{"type":"DEVICE_DATA"}'],
    ['an escaped quote form', '{"type":"device\\u005fdata"}'],
    ['an empty frame', ''],
  ])('false for %s', (_, text) => {
    expect(mayBeDeviceFrame(buf(text))).toBe(false);
  });

  test('finds the marker past the start of a large frame', () => {
    const big = Buffer.concat([Buffer.alloc(60_000, 'a'), buf('"device_data"')]);
    expect(mayBeDeviceFrame(big)).toBe(true);
    expect(mayBeDeviceFrame(big.subarray(0, big.length - 1))).toBe(false);
  });
});

describe('parseDeviceFrame', () => {
  test('a valid reading comes back as its frame', () => {
    const frame = { type: 'device_data', deviceId: 'sensor-1', data: { t: 21.5, tags: ['a'] } };
    expect(parseDeviceFrame(json(frame))).toEqual({ frame });
  });

  test('keys beyond type, deviceId and data are dropped', () => {
    const result = parseDeviceFrame(json({ type: 'device_data', deviceId: 'd', data: {}, extra: 1 }));
    expect(result).toEqual({ frame: { type: 'device_data', deviceId: 'd', data: {} } });
  });

  test.each([
    ['not JSON', 'xx "device_data" yy'],
    ['another type that mentions the marker', '{"type":"chat","text":"device_data"}'],
    ['a JSON string', '"device_data"'],
    ['a JSON array', '["device_data"]'],
    ['JSON null', 'null'],
    ['no type', '{"deviceId":"d","data":{},"note":"device_data"}'],
  ])('null (not device data, only forwarded) for %s', (_, text) => {
    expect(parseDeviceFrame(buf(text))).toBeNull();
  });

  test.each([
    ['no deviceId', { type: 'device_data', data: {} }, 'deviceId'],
    ['an empty deviceId', { type: 'device_data', deviceId: '', data: {} }, 'deviceId'],
    [
      'a deviceId of 192 characters',
      { type: 'device_data', deviceId: 'x'.repeat(192), data: {} },
      'deviceId',
    ],
    ['a numeric deviceId', { type: 'device_data', deviceId: 7, data: {} }, 'deviceId'],
    ['no data', { type: 'device_data', deviceId: 'd' }, 'data'],
    ['data as an array', { type: 'device_data', deviceId: 'd', data: [1, 2] }, 'data'],
    ['data as a number', { type: 'device_data', deviceId: 'd', data: 3 }, 'data'],
    ['data as null', { type: 'device_data', deviceId: 'd', data: null }, 'data'],
  ])('an error naming the field for %s', (_, value, field) => {
    const result = parseDeviceFrame(json(value));
    expect(result).toEqual({ error: expect.stringMatching(new RegExp(`^invalid device_data: ${field}: `)) });
  });

  test('a deviceId of exactly 191 characters is accepted', () => {
    const deviceId = 'x'.repeat(191);
    expect(parseDeviceFrame(json({ type: 'device_data', deviceId, data: {} }))).toEqual({
      frame: { type: 'device_data', deviceId, data: {} },
    });
  });

  test('multi-byte UTF-8 in the reading survives the parse', () => {
    const frame = { type: 'device_data', deviceId: 'capteur-é', data: { unit: '°C', note: '温度' } };
    expect(parseDeviceFrame(json(frame))).toEqual({ frame });
  });
});

describe('parseDeviceFrame answers', () => {
  test('invalid JSON that declares device_data with spaces around the colon is answered', () => {
    const r = parseDeviceFrame(buf('{ "type" : "device_data", "deviceId": "d", "data": {"t": NaN} }'));
    expect(r).toEqual({ error: expect.stringMatching(/^invalid device_data: not valid JSON \(/) });
  });

  test('invalid JSON that only mentions device_data elsewhere is not device data', () => {
    expect(parseDeviceFrame(buf('{"note":"device_data", oops'))).toBeNull();
    expect(parseDeviceFrame(buf('x"type":"device_data" oops'))).toBeNull();
  });

  test('a shape error names the field and the reason', () => {
    expect(parseDeviceFrame(json({ type: 'device_data', deviceId: '', data: {} }))).toEqual({
      error: expect.stringMatching(/^invalid device_data: deviceId: .+/),
    });
    expect(parseDeviceFrame(json({ type: 'device_data', deviceId: 'd', data: 5 }))).toEqual({
      error: expect.stringMatching(/^invalid device_data: data: .+/),
    });
  });

  test('JSON that is not an object of type device_data is not device data', () => {
    for (const v of [null, 5, 'device_data', ['device_data'], { type: 'other', note: 'device_data' }]) {
      expect(parseDeviceFrame(json(v))).toBeNull();
    }
  });
});
