import { withGeneratorCheck } from '../generator-health';
import { runSummary } from '../summary-json';
import { loadRunFixture } from './helpers/run-fixture';

describe('summary.json', () => {
  const run = loadRunFixture();
  const [ok, ramp] = run.scenarios;
  const stalled = withGeneratorCheck({ ...ok, status: 'passed', generatorStallMaxMs: 400 });
  const doc = runSummary('r1', 'abc123', [
    { statsMode: 'batched', database: 'sqlite', results: [ok, ramp] },
    { statsMode: 'immediate', database: null, results: [stalled] },
  ]);

  it('has exactly the documented shape', () => {
    expect(Object.keys(doc)).toEqual(['runId', 'gitCommit', 'passes']);
    expect(doc.passes.map((p) => Object.keys(p))).toEqual([
      ['statsMode', 'database', 'scenarios'],
      ['statsMode', 'database', 'scenarios'],
    ]);
    for (const s of doc.passes.flatMap((p) => p.scenarios)) {
      expect(Object.keys(s)).toEqual([
        'name',
        'msgPerSecTarget',
        'msgPerSecSent',
        'deliveriesPerSec',
        'latencyMs',
        'latencyFromActualSendMs',
        'lost',
        'valid',
        'pass',
      ]);
      expect(Object.keys(s.latencyMs!)).toEqual(['p50', 'p95', 'p99', 'max']);
      // null where the result has no actual-send figures (the fixture's ramp, like a run.json of before them)
      if (s.latencyFromActualSendMs !== null)
        expect(Object.keys(s.latencyFromActualSendMs)).toEqual(['p95', 'p99']);
    }
    expect(doc.passes[0].scenarios[0].latencyFromActualSendMs).not.toBeNull();
    // The fixture's ramp has no latencyFromSend at all, as a run.json of before it: null, not the intended figures.
    expect(doc.passes[0].scenarios[1].latencyFromActualSendMs).toBeNull();
    // A plain JSON document: survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("carries each scenario's own numbers and verdict", () => {
    const s = doc.passes[0].scenarios[0];
    expect(s).toMatchObject({
      name: ok.name,
      msgPerSecSent: ok.sentPerSec,
      deliveriesPerSec: ok.deliveredPerSec,
      latencyMs: { p50: ok.latency!.p50, p95: ok.latency!.p95, p99: ok.latency!.p99, max: ok.latency!.max },
      // The actual-send figures are their own histogram, not the intended-send one again.
      latencyFromActualSendMs: { p95: ok.latencyFromSend!.p95, p99: ok.latencyFromSend!.p99 },
      lost: ok.frames.lost,
      valid: true,
      pass: ok.status === 'passed',
    });
    expect(s.msgPerSecTarget).toBeCloseTo(ok.plan.targetRatePerSec, 1);
    expect(doc.passes[0]).toMatchObject({ statsMode: 'batched', database: 'sqlite' });
  });

  it('gives null for the actual-send latency a result does not have, never the intended one in its place', () => {
    expect(ok.latencyFromSend!.p95).not.toBe(ok.latency!.p95);
    const [line] = runSummary('r2', 'abc123', [
      { statsMode: 'batched', database: 'sqlite', results: [{ ...ok, latencyFromSend: null }] },
    ]).passes[0].scenarios;
    expect(line.latencyFromActualSendMs).toBeNull();
    expect(line.latencyMs!.p95).toBe(ok.latency!.p95);
  });

  it('marks an INVALID scenario neither valid nor passing', () => {
    expect(doc.passes[1].scenarios[0]).toMatchObject({ valid: false, pass: false });
    expect(doc.passes[1].database).toBeNull();
  });
});
