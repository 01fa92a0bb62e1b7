import { DEFAULT_TARGET, readSettings, resolveTarget, restBaseFromTarget } from '../lib/settings';

describe('readSettings (scenario knobs from config.variables)', () => {
  it('fills every knob from its default when the scenario states nothing', () => {
    expect(readSettings({})).toEqual({
      endpoints: 1,
      connectionsPerEndpoint: 2,
      // no ratePlan: one frame per connection per second, for holdSeconds (30)
      steps: [{ ratePerSecond: 2, seconds: 30 }],
      rampSeconds: 5,
      settleMs: 1000,
      drainMs: 5000,
      payloadBytes: 128,
      latencyP95LimitMs: 100,
      latencyP99LimitMs: 250,
      // no generatorIndex/generatorCount: one generator owning every endpoint
      slice: { index: 0, generators: 1, offset: 0, count: 1 },
    });
  });

  it('reads each knob under its own name (numbers or numeric strings, as YAML and --variables give them)', () => {
    const s = readSettings({
      endpoints: 3,
      connectionsPerEndpoint: '4',
      holdSeconds: 12,
      rampSeconds: 7,
      settleMs: '250',
      drainMs: 900,
      payloadBytes: 512,
      latencyP95LimitMs: 40,
      latencyP99LimitMs: '80',
    });
    expect(s).toEqual({
      endpoints: 3,
      connectionsPerEndpoint: 4,
      // the default plan is endpoints x connectionsPerEndpoint frames per second (12, not 3/4 or 7)
      steps: [{ ratePerSecond: 12, seconds: 12 }],
      rampSeconds: 7,
      settleMs: 250,
      drainMs: 900,
      payloadBytes: 512,
      latencyP95LimitMs: 40,
      latencyP99LimitMs: 80,
      slice: { index: 0, generators: 1, offset: 0, count: 3 },
    });
  });

  it('takes an explicit rate plan over the default one; a bare rate lasts holdSeconds', () => {
    expect(readSettings({ ratePlan: '100x10,200x5' }).steps).toEqual([
      { ratePerSecond: 100, seconds: 10 },
      { ratePerSecond: 200, seconds: 5 },
    ]);
    expect(readSettings({ ratePlan: 50, holdSeconds: 8 }).steps).toEqual([{ ratePerSecond: 50, seconds: 8 }]);
  });

  it('treats an empty string as unset (an empty --variables value), not as 0', () => {
    const s = readSettings({ endpoints: '', payloadBytes: '', rampSeconds: '', drainMs: '' });
    expect(s.endpoints).toBe(1);
    expect(s.payloadBytes).toBe(128);
    expect(s.rampSeconds).toBe(5);
    expect(s.drainMs).toBe(5000);
  });

  it('accepts the smallest legal values: 1 for counts and sizes, 0 for durations and limits', () => {
    const s = readSettings({
      endpoints: 1,
      connectionsPerEndpoint: 1,
      payloadBytes: 1,
      rampSeconds: 0,
      settleMs: 0,
      drainMs: 0,
      latencyP95LimitMs: 0,
      latencyP99LimitMs: 0,
      ratePlan: '5x1',
    });
    expect(s).toMatchObject({
      endpoints: 1,
      connectionsPerEndpoint: 1,
      payloadBytes: 1,
      rampSeconds: 0,
      settleMs: 0,
      drainMs: 0,
      latencyP95LimitMs: 0,
      latencyP99LimitMs: 0,
    });
  });

  it.each([
    ['endpoints', 0],
    ['endpoints', -2],
    ['endpoints', 1.5],
    ['connectionsPerEndpoint', 'two'],
    ['payloadBytes', 0],
  ])('rejects %s = %p with an error naming the variable and the value', (name, value) => {
    expect(() => readSettings({ [name]: value })).toThrow(
      `config.variables.${name} must be a positive integer, got ${JSON.stringify(value)}`,
    );
  });

  it.each([
    ['rampSeconds', -1],
    ['settleMs', 'soon'],
    ['drainMs', 'Infinity'],
    ['latencyP95LimitMs', -0.5],
    ['latencyP99LimitMs', -250],
  ])('rejects %s = %p with an error naming the variable and the value', (name, value) => {
    expect(() => readSettings({ [name]: value })).toThrow(
      `config.variables.${name} must be a number >= 0, got ${JSON.stringify(value)}`,
    );
  });

  it('rejects a negative holdSeconds before it reaches the rate plan', () => {
    expect(() => readSettings({ holdSeconds: -3 })).toThrow(
      'config.variables.holdSeconds must be a number >= 0',
    );
  });
});

describe('restBaseFromTarget', () => {
  it.each([
    ['ws://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['wss://relay.example:8443/ws?x=1', 'https://relay.example:8443'],
    ['http://localhost:3000/some/path', 'http://localhost:3000'],
    ['https://relay.example', 'https://relay.example'],
  ])('%s -> %s', (target, base) => {
    expect(restBaseFromTarget(target)).toBe(base);
  });

  it('rejects any other protocol, naming the target', () => {
    expect(() => restBaseFromTarget('ftp://relay.example')).toThrow(
      'unsupported target protocol in ftp://relay.example',
    );
    expect(() => restBaseFromTarget('not a url')).toThrow();
  });
});

describe('resolveTarget', () => {
  const saved = process.env.TARGET;
  afterEach(() => {
    if (saved === undefined) delete process.env.TARGET;
    else process.env.TARGET = saved;
  });

  it('prefers $TARGET, then config.variables.target, then the default', () => {
    delete process.env.TARGET;
    expect(DEFAULT_TARGET).toBe('ws://127.0.0.1:8080');
    expect(resolveTarget({})).toBe(DEFAULT_TARGET);
    expect(resolveTarget({ target: 'ws://vars:1' })).toBe('ws://vars:1');
    // a non-string target (a YAML typo) is ignored, not stringified
    expect(resolveTarget({ target: 8080 })).toBe(DEFAULT_TARGET);
    process.env.TARGET = 'ws://env:2';
    expect(resolveTarget({ target: 'ws://vars:1' })).toBe('ws://env:2');
    expect(resolveTarget({})).toBe('ws://env:2');
    // an empty $TARGET counts as unset
    process.env.TARGET = '';
    expect(resolveTarget({ target: 'ws://vars:1' })).toBe('ws://vars:1');
  });
});
