/**
 * The gate plumbing around artillery/common.yml: reading limits from variables, each
 * --gate-* override touching only its own gate, informational restatement, and the
 * parsing of ensure's verdict lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  applyOverrides,
  asInformational,
  gateCount,
  latencyGateEntries,
  loadSharedGates,
  parseCheckLines,
  type EnsureConfig,
} from '../gates';

const CONDITIONS = [
  { expression: 'e2e.latency_over_p95_limit <= 0.05 * e2e.frames_delivered' },
  { expression: ' e2e.frames_lost == 0 ', strict: true },
  { expression: 'e2e.frames_duplicated + e2e.frames_misrouted == 0' },
  { expression: 'e2e.frames_sent >= 0.95 * e2e.frames_due', strict: false },
  { expression: 'vusers.failed == 0' },
];
const base: EnsureConfig = { thresholds: [], conditions: CONDITIONS };

describe('loadSharedGates', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gates-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const load = (yaml: string) => {
    const file = path.join(dir, 'common.yml');
    writeFileSync(file, yaml);
    return loadSharedGates(file);
  };

  it('refuses a config without an ensure block, naming the file', () => {
    const file = path.join(dir, 'common.yml');
    expect(() => load('config:\n  target: ws://x\n')).toThrow(
      `${file} has no config.ensure block; refusing to run without gates`,
    );
  });

  it('reads each latency limit from its variable; the other keeps the processor default', () => {
    const ensure = 'config:\n  ensure:\n    conditions:\n      - expression: "vusers.failed == 0"\n';
    expect(load(`${ensure}  variables:\n    latencyP95LimitMs: 40\n`).latencyLimits).toEqual({
      latencyP95LimitMs: 40,
      latencyP99LimitMs: 250,
    });
    expect(load(`${ensure}  variables:\n    latencyP99LimitMs: "80"\n`).latencyLimits).toEqual({
      latencyP95LimitMs: 100,
      latencyP99LimitMs: 80,
    });
    expect(load(`${ensure}  variables:\n    endpoints: 2\n`).latencyLimits).toBeUndefined();
    expect(load(ensure).latencyLimits).toBeUndefined();
  });

  it('defaults missing thresholds and conditions to none', () => {
    expect(load('config:\n  ensure:\n    thresholds:\n      - http.response_time.p99: 500\n')).toEqual({
      thresholds: [{ 'http.response_time.p99': 500 }],
      conditions: [],
      latencyLimits: undefined,
    });
    expect(load('config:\n  ensure:\n    conditions:\n      - expression: "a == 0"\n').thresholds).toEqual(
      [],
    );
  });
});

describe('applyOverrides: each override changes its own gate and nothing else', () => {
  it('no override: conditions and limits as they were (no limits stay no limits)', () => {
    const o = applyOverrides(base, {});
    expect(o.conditions).toEqual(CONDITIONS);
    expect(o.latencyLimits).toBeUndefined();
  });

  it('a latency override without limits in common.yml starts from the processor defaults', () => {
    expect(applyOverrides(base, { p95Ms: 30 }).latencyLimits).toEqual({
      latencyP95LimitMs: 30,
      latencyP99LimitMs: 250,
    });
    expect(applyOverrides(base, { p99Ms: 90 }).latencyLimits).toEqual({
      latencyP95LimitMs: 100,
      latencyP99LimitMs: 90,
    });
    expect(applyOverrides(base, { p95Ms: 30 }).conditions).toEqual(CONDITIONS);
  });

  it('--max-lost rewrites the loss gate only, keeping its strictness', () => {
    const o = applyOverrides(base, { maxLost: 3 });
    expect(o.conditions).toEqual([
      CONDITIONS[0],
      { expression: 'e2e.frames_lost <= 3', strict: true },
      ...CONDITIONS.slice(2),
    ]);
  });

  it('--min-send-ratio rewrites the send-ratio gate only', () => {
    const o = applyOverrides(base, { minSendRatio: 0.8 });
    expect(o.conditions).toEqual([
      ...CONDITIONS.slice(0, 3),
      { expression: 'e2e.frames_sent >= 0.8 * e2e.frames_due', strict: false },
      CONDITIONS[4],
    ]);
  });

  it('both together', () => {
    expect(applyOverrides(base, { maxLost: 0, minSendRatio: 1 }).conditions.map((c) => c.expression)).toEqual(
      [
        CONDITIONS[0].expression,
        'e2e.frames_lost <= 0',
        CONDITIONS[2].expression,
        'e2e.frames_sent >= 1 * e2e.frames_due',
        CONDITIONS[4].expression,
      ],
    );
  });
});

describe('asInformational and gateCount', () => {
  const gates: EnsureConfig = {
    thresholds: [{ 'http.response_time.p99': 500 }, { 'e2e.connect_ms.p95': 20 }],
    conditions: [{ expression: 'vusers.failed == 0', strict: true }],
    latencyLimits: { latencyP95LimitMs: 1, latencyP99LimitMs: 2 },
  };

  it('restates thresholds as non-strict "<" conditions ahead of the conditions', () => {
    expect(asInformational(gates)).toEqual({
      latencyLimits: { latencyP95LimitMs: 1, latencyP99LimitMs: 2 },
      thresholds: [],
      conditions: [
        { expression: 'http.response_time.p99 < 500', strict: false },
        { expression: 'e2e.connect_ms.p95 < 20', strict: false },
        { expression: 'vusers.failed == 0', strict: false },
      ],
    });
  });

  it('counts thresholds and conditions', () => {
    expect(gateCount(gates)).toBe(3);
    expect(gateCount(asInformational(gates))).toBe(3);
    expect(gateCount({ thresholds: [], conditions: [] })).toBe(0);
  });
});

describe('latencyGateEntries', () => {
  it('lists both limits under their run.json keys, or nothing without limits', () => {
    expect(
      latencyGateEntries({ ...base, latencyLimits: { latencyP95LimitMs: 40, latencyP99LimitMs: 80 } }),
    ).toEqual([
      ['latency p95 from intended send time', '<= 40 ms'],
      ['latency p99 from intended send time', '<= 80 ms'],
    ]);
    expect(latencyGateEntries(base)).toEqual([]);
  });
});

describe('parseCheckLines: only the lines after the Checks: header, each a whole verdict line', () => {
  it('ignores verdict-looking lines before the header and text that merely contains "ok:"', () => {
    const out = [
      'ok: printed by a hook before the checks',
      '  Checks:  ',
      '  ok: e2e.frames_lost == 0',
      'hook: not a verdict',
      'fail: vusers.failed == 0 (optional)',
      '\tfail: e2e.frames_sent >= 0.95 * e2e.frames_due',
    ].join('\n');
    expect(parseCheckLines(out)).toEqual([
      { expression: 'e2e.frames_lost == 0', passed: true, strict: true },
      { expression: 'vusers.failed == 0', passed: false, strict: false },
      { expression: 'e2e.frames_sent >= 0.95 * e2e.frames_due', passed: false, strict: true },
    ]);
  });

  it('finds nothing without the header, whatever else was printed', () => {
    expect(parseCheckLines('ok: a == 0\nfail: b == 0\n')).toEqual([]);
    expect(parseCheckLines('Checks: none\nok: a == 0')).toEqual([]);
  });

  it('reads the verdicts when the header is the very first line of the output', () => {
    expect(parseCheckLines('Checks:\nok: a == 0\nfail: b < 5 (optional)')).toEqual([
      { expression: 'a == 0', passed: true, strict: true },
      { expression: 'b < 5', passed: false, strict: false },
    ]);
  });
});
