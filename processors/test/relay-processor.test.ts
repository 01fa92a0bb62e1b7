/**
 * The processor inside a real Artillery process, against the throwaway relay
 * from runner/test/helpers: proves that deliveries are accounted exactly and
 * that a relay which drops frames fails the loss gate.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeRelay, type FakeRelay } from '../../runner/test/helpers/fake-relay';

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(90_000);

function runArtillery(target: string, out: string) {
  const overrides = {
    config: {
      phases: [{ duration: 1, arrivalCount: 6 }],
      variables: { connectionsPerEndpoint: 6, ratePlan: '30', holdSeconds: 3, rampSeconds: 1, drainMs: 1500 },
    },
  };
  // Asynchronous spawn: a synchronous one would block the event loop the in-process relay runs on.
  return new Promise<{
    status: number | null;
    output: string;
    report: { aggregate: { counters: Record<string, number>; summaries: Record<string, { count: number }> } };
  }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/artillery/bin/run'),
        'run',
        '--config',
        'artillery/common.yml',
        '--overrides',
        JSON.stringify(overrides),
        '--output',
        out,
        'artillery/single-endpoint-10.yml',
      ],
      { cwd: ROOT, env: { ...process.env, TARGET: target, ARTILLERY_DISABLE_TELEMETRY: 'true' } },
    );
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (status: number | null) => {
      try {
        resolve({ status, output, report: JSON.parse(readFileSync(out, 'utf8')) });
      } catch (err) {
        reject(new Error(`no report (${(err as Error).message}); output:\n${output}`));
      }
    });
  });
}

describe('relay processor under Artillery', () => {
  let relay: FakeRelay;
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-proc-'));
  beforeAll(async () => {
    relay = await startFakeRelay();
  });
  afterAll(async () => relay.close());

  it('accounts every delivery of a healthy relay and passes the gates', async () => {
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'ok.json'));
    const c = report.aggregate.counters;
    expect(c['e2e.frames_sent']).toBeGreaterThan(0);
    expect(c['e2e.frames_sent']).toBe(c['e2e.frames_due']);
    // 6 peers on one endpoint: a frame is owed to the other 5 that were open when it was sent
    // (the ledger's rule); a peer still connecting as the first frames leave is owed fewer.
    expect(c['e2e.frames_expected']).toBeLessThanOrEqual(c['e2e.frames_sent'] * 5);
    expect(c['e2e.frames_expected']).toBeGreaterThanOrEqual(Math.floor(c['e2e.frames_sent'] * 5 * 0.95));
    expect(c['e2e.frames_delivered']).toBe(c['e2e.frames_expected']);
    expect(c['e2e.frames_lost']).toBe(0);
    expect(c['e2e.frames_duplicated']).toBe(0);
    expect(report.aggregate.summaries['e2e.latency_ms'].count).toBe(c['e2e.frames_delivered']);
    expect(output).toContain('ok: e2e.frames_lost == 0');
    expect(status).toBe(0);
  });

  it('counts frames a relay drops and fails the loss gate', async () => {
    relay.dropEvery = 7;
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'lossy.json'));
    relay.dropEvery = 0;
    const c = report.aggregate.counters;
    expect(c['e2e.frames_lost']).toBeGreaterThan(0);
    expect(c['e2e.frames_delivered'] + c['e2e.frames_lost']).toBe(c['e2e.frames_expected']);
    expect(output).toContain('fail: e2e.frames_lost == 0');
    expect(status).not.toBe(0);
  });
});
