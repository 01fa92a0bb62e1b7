import { buildRunMeta, generatorSockets } from '../metadata';

const WS = `ws ${require('ws/package.json').version}`;

describe("generatorSockets: the run's VU socket library, from RELAY_PERF_ENGINE_WS", () => {
  it.each([
    [undefined, WS],
    ['', WS],
    ['8', WS],
    ['7', "Artillery's own ws 7"],
    ['9', 'none: RELAY_PERF_ENGINE_WS="9" is refused'],
  ])('%p: %s', (raw, label) => {
    expect(generatorSockets(raw)).toBe(label);
  });

  it("is recorded in the run's metadata from the runner's environment", () => {
    const saved = process.env.RELAY_PERF_ENGINE_WS;
    const meta = () =>
      buildRunMeta({
        runId: 'r',
        argv: [],
        profile: 'quick',
        only: [],
        git: { commit: 'c', dirty: false },
        repoRoot: process.cwd(),
        target: 'ws://127.0.0.1:1',
        gates: { thresholds: [], conditions: [] },
      }).generatorSockets;
    try {
      delete process.env.RELAY_PERF_ENGINE_WS;
      expect(meta()).toBe(WS);
      process.env.RELAY_PERF_ENGINE_WS = '7';
      expect(meta()).toBe("Artillery's own ws 7");
    } finally {
      if (saved === undefined) delete process.env.RELAY_PERF_ENGINE_WS;
      else process.env.RELAY_PERF_ENGINE_WS = saved;
    }
  });
});
