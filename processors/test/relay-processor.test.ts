/**
 * The processor inside a real Artillery process, against the throwaway relay
 * from runner/test/helpers: the processor's counts must equal what the relay
 * itself counts it did (forwarded, dropped, duplicated, echoed), and each kind of
 * fault must fail its own gate and only that one.
 *
 * Timing is kept out: the latency thresholds and the send-rate gate are replaced by
 * the behavioural gates only, so a busy machine changes nothing asserted here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeRelay, type FakeRelay } from '../../runner/test/helpers/fake-relay';
import { mergeLatencyDir } from '../lib/latency';

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(90_000);

const PEERS = 6;
/** 30 msg/s over 3 s shared by 6 connections: 15 frames each. */
const FRAMES_PER_PEER = 15;
const BEHAVIOUR_GATES = [
  'e2e.frames_lost == 0',
  'e2e.frames_duplicated + e2e.frames_misrouted == 0',
  'vusers.failed == 0',
];

const LATENCY_GATES = [
  'e2e.latency_over_p95_limit <= 0.05 * e2e.frames_delivered',
  'e2e.latency_over_p99_limit <= 0.01 * e2e.frames_delivered',
];

/** Runs the scenario; the generator threads' latency histograms land in `${out}.latency/`. */
function runArtillery(
  target: string,
  out: string,
  extra: { variables?: object; gates?: string[]; phases?: object[]; env?: Record<string, string> } = {},
) {
  const overrides = {
    config: {
      phases: extra.phases ?? [{ duration: 1, arrivalCount: PEERS }],
      variables: {
        connectionsPerEndpoint: PEERS,
        ratePlan: String((PEERS * FRAMES_PER_PEER) / 3),
        holdSeconds: 3,
        rampSeconds: 1,
        // Every peer must have joined before the first frame even on a busy machine:
        // the exact comparisons below rely on every frame being owed to all other peers.
        settleMs: 2000,
        drainMs: 1500,
        ...extra.variables,
      },
      // Arrays replace (not merge) under --overrides: only the behavioural gates remain.
      ensure: {
        thresholds: [],
        conditions: [...BEHAVIOUR_GATES, ...(extra.gates ?? [])].map((expression) => ({ expression })),
      },
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
      // One generator worker: the ledger is per worker thread, so peers split across two would owe nothing to each other.
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TARGET: target,
          WORKERS: '1',
          ARTILLERY_DISABLE_TELEMETRY: 'true',
          RELAY_PERF_HDR_DIR: `${out}.latency`,
          ...extra.env,
        },
      },
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

type Report = Awaited<ReturnType<typeof runArtillery>>['report'];

/**
 * Checks that hold for every run here: all peers ran to the end, each sent what it was
 * due, the relay saw exactly those frames, and (settle margin) every frame was owed to
 * every other peer, all of which the relay offered. Returns the counters.
 */
function commonChecks(report: Report, relay: FakeRelay): Record<string, number> {
  const c = report.aggregate.counters;
  expect(c['vusers.completed']).toBe(PEERS);
  expect(c['vusers.failed']).toBe(0);
  // The exact figures below hold when no peer joined late; a late one would be counted here.
  expect(c['e2e.vus_joined_late']).toBe(0);
  // Due is the schedule's own figure, fixed by the plan when no peer joined late.
  expect(c['e2e.frames_due']).toBe(PEERS * FRAMES_PER_PEER);
  // Frames left unsent are a generator-speed matter (the send-ratio gate of test:performance);
  // what must hold is that the relay received exactly the frames the processor counted as sent.
  expect(c['e2e.frames_sent']).toBeGreaterThan(0);
  expect(c['e2e.frames_sent']).toBeLessThanOrEqual(c['e2e.frames_due']);
  expect(relay.counts.received).toBe(c['e2e.frames_sent']);
  expect(c['e2e.frames_extra']).toBe(0);
  expect(c['e2e.frames_expected']).toBe(c['e2e.frames_sent'] * (PEERS - 1));
  expect(relay.counts.offered).toBe(c['e2e.frames_expected']);
  return c;
}

describe('relay processor under Artillery', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-proc-'));
  let relay: FakeRelay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  it('accounts every delivery of a healthy relay and passes the behavioural gates', async () => {
    relay = await startFakeRelay();
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'ok.json'));
    const c = commonChecks(report, relay);
    expect(relay.counts).toMatchObject({ dropped: 0, duplicated: 0, echoed: 0 });
    expect(c['e2e.frames_delivered']).toBe(relay.counts.written);
    expect(c['e2e.frames_lost']).toBe(0);
    expect(c['e2e.frames_duplicated']).toBe(0);
    expect(c['e2e.frames_misrouted']).toBe(0);
    // Every delivery's latency (both kinds) and every send's lag, exact, none through Artillery's sampler.
    const merged = mergeLatencyDir(path.join(dir, 'ok.json.latency'))!;
    expect(merged.files).toBe(1);
    expect(merged.set.intended.totalCount).toBe(c['e2e.frames_delivered']);
    expect(merged.set.sent.totalCount).toBe(c['e2e.frames_delivered']);
    expect(merged.set.sendLag.totalCount).toBe(c['e2e.frames_sent']);
    expect(report.aggregate.summaries['e2e.latency_ms']).toBeUndefined();
    // The engine's sockets are this project's ws 8 (processors/lib/engine-socket.ts), and the log says so.
    expect(output).toContain(`VU sockets from ws ${require('ws/package.json').version}`);
    // The after hook prints the merged figures for a hand run.
    expect(output).toMatch(/from intended send time \(gated\): p50 [\d.]+ p95 [\d.]+ p99 [\d.]+/);
    for (const gate of BEHAVIOUR_GATES) expect(output).toContain(`ok: ${gate}`);
    expect(status).toBe(0);
  });

  it("RELAY_PERF_ENGINE_WS=7 runs on Artillery's own ws 7 with the same exact accounting", async () => {
    relay = await startFakeRelay();
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'ws7.json'), {
      env: { RELAY_PERF_ENGINE_WS: '7' },
    });
    const c = commonChecks(report, relay);
    expect(c['e2e.frames_delivered']).toBe(relay.counts.written);
    expect(c['e2e.frames_lost']).toBe(0);
    expect(output).toContain("VU sockets from Artillery's own ws 7");
    expect(output).not.toContain('VU sockets from ws 8');
    expect(status).toBe(0);
  });

  it('a bad RELAY_PERF_ENGINE_WS stops the run before any VU, with the message', async () => {
    relay = await startFakeRelay();
    await expect(
      runArtillery(relay.url, path.join(dir, 'ws-bad.json'), { env: { RELAY_PERF_ENGINE_WS: '9' } }),
    ).rejects.toThrow('RELAY_PERF_ENGINE_WS must be 7 or 8, got "9"');
    expect(relay.counts.received).toBe(0);
  });

  it('peers that join after the window began: frames sent before they joined are uncounted, never extra, and all they are owed arrives', async () => {
    // The relay replays its endpoint's last 3 frames to each newcomer: frames sent before the
    // newcomer joined its ledger, arriving after, which the ledger owes nobody.
    relay = await startFakeRelay(undefined, { replayToNewcomer: 3 });
    // One arrival every 0.5 s, the window 0.2 s after the first: five of six peers join late.
    const { status, report } = await runArtillery(relay.url, path.join(dir, 'late.json'), {
      phases: [{ duration: 3, arrivalCount: PEERS }],
      variables: { rampSeconds: 0, settleMs: 200, ratePlan: '300' },
    });
    const c = report.aggregate.counters;
    expect(c['vusers.completed']).toBe(PEERS);
    expect(c['e2e.vus_joined_late']).toBe(PEERS - 1);
    // Late joiners are owed only what was sent after they joined.
    expect(c['e2e.frames_expected']).toBeLessThan(c['e2e.frames_sent'] * (PEERS - 1));
    expect(c['e2e.frames_delivered']).toBe(c['e2e.frames_expected']);
    expect(c['e2e.frames_lost']).toBe(0);
    expect(c['e2e.frames_misrouted'] + c['e2e.frames_duplicated']).toBe(0);
    // Three replayed to each of the five late joiners (none before the first frame).
    expect(relay.counts.replayed).toBe(3 * (PEERS - 1));
    expect(c['e2e.frames_extra']).toBe(0);
    // Besides the replays, frames in flight while a peer joined or stopped may arrive uncounted.
    expect(c['e2e.frames_uncounted']).toBeGreaterThanOrEqual(relay.counts.replayed);
    expect(c['e2e.frames_delivered'] + c['e2e.frames_uncounted']).toBeLessThanOrEqual(
      relay.counts.written + relay.counts.replayed,
    );
    expect(status).toBe(0);
  });

  it('counts the deliveries above each latency limit, and the exact latency gates fail and pass by them', async () => {
    relay = await startFakeRelay();
    // No latency is 0 ms and none reaches 10 minutes: every delivery is over the first limit, none over the second.
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'limits.json'), {
      variables: { latencyP95LimitMs: 0, latencyP99LimitMs: 600_000 },
      gates: LATENCY_GATES,
    });
    const c = commonChecks(report, relay);
    expect(c['e2e.frames_delivered']).toBe(relay.counts.written);
    expect(c['e2e.latency_over_p95_limit']).toBe(c['e2e.frames_delivered']);
    expect(c['e2e.latency_over_p99_limit']).toBe(0);
    expect(output).toContain(`fail: ${LATENCY_GATES[0]}`);
    expect(output).toContain(`ok: ${LATENCY_GATES[1]}`);
    for (const gate of BEHAVIOUR_GATES) expect(output).toContain(`ok: ${gate}`);
    expect(status).toBe(1);
  });

  it('counts exactly the deliveries a relay drops, and fails the loss gate only', async () => {
    relay = await startFakeRelay(undefined, { dropEvery: 7 });
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'lossy.json'));
    const c = commonChecks(report, relay);
    expect(relay.counts.dropped).toBe(Math.floor(relay.counts.offered / 7));
    expect(c['e2e.frames_lost']).toBe(relay.counts.dropped);
    expect(c['e2e.frames_delivered']).toBe(relay.counts.written);
    expect(c['e2e.frames_duplicated']).toBe(0);
    expect(c['e2e.frames_misrouted']).toBe(0);
    expect(output).toContain('fail: e2e.frames_lost == 0');
    expect(output).toContain('ok: e2e.frames_duplicated + e2e.frames_misrouted == 0');
    expect(status).toBe(1);
  });

  it('counts exactly the copies and echoes a relay sends, and fails the duplicate gate only', async () => {
    // Early frames (2nd, 3rd of each sender), so every peer is still listening when they come back.
    relay = await startFakeRelay(undefined, { duplicateNth: 3, echoNth: 2 });
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'dup.json'));
    const c = commonChecks(report, relay);
    expect(relay.counts.duplicated).toBe(PEERS * (PEERS - 1));
    expect(relay.counts.echoed).toBe(PEERS);
    expect(c['e2e.frames_duplicated']).toBe(relay.counts.duplicated);
    expect(c['e2e.frames_misrouted']).toBe(relay.counts.echoed);
    // A copy is not a second delivery, and an echo is not a delivery at all.
    expect(c['e2e.frames_delivered']).toBe(relay.counts.written);
    expect(c['e2e.frames_delivered']).toBe(c['e2e.frames_expected']);
    expect(c['e2e.frames_lost']).toBe(0);
    expect(output).toContain('ok: e2e.frames_lost == 0');
    expect(output).toContain('fail: e2e.frames_duplicated + e2e.frames_misrouted == 0');
    expect(status).toBe(1);
  });

  const IOT_GATES = [
    'iot.readings_stored == iot.readings_sent - iot.readings_refused',
    'iot.readings_refused == 0',
    'iot.alerts_fired == iot.alerts_expected',
  ];
  /** Every other frame a reading, every 2nd reading of a peer firing: 7 readings and 3 alerts of 15 frames. */
  const READINGS = { deviceDataShare: 0.5, alertEvery: 2, readingsCheckMs: 3000 };

  it('sends readings the relay stores and alerts on, accounts them as deliveries, and the IoT gates pass on exact counts', async () => {
    relay = await startFakeRelay();
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'iot.json'), {
      variables: READINGS,
      gates: IOT_GATES,
    });
    const c = commonChecks(report, relay); // readings are owed and delivered like plain frames; alerts are not extra
    expect(c['e2e.frames_delivered']).toBe(relay.counts.written);
    expect(c['e2e.frames_misrouted']).toBe(0);
    // What the relay received as readings and stored, and the alerts it fired, as the processor counted them.
    expect(relay.counts.readings).toBeGreaterThan(0);
    expect(c['iot.readings_sent']).toBe(relay.counts.readings);
    expect(c['iot.readings_stored']).toBe(relay.counts.stored);
    expect(relay.counts.stored).toBe(relay.counts.readings);
    expect(relay.counts.alerts).toBeGreaterThan(0);
    expect(c['iot.alerts_expected']).toBe(relay.counts.alerts);
    expect(c['iot.alerts_fired']).toBe(relay.counts.alerts);
    expect(c['iot.alert_frames_received']).toBe(relay.counts.alertFrames);
    expect(c['iot.readings_refused']).toBe(0);
    // Each peer's k-th frame is a reading when floor(k / 2) steps up; every 2nd of its readings fires.
    if (c['e2e.frames_sent'] === PEERS * FRAMES_PER_PEER) {
      expect(relay.counts.readings).toBe(PEERS * 7);
      expect(relay.counts.alerts).toBe(PEERS * 3);
    }
    expect(output).toMatch(
      /readings-check \(thread \d+, 1 devices, after \d+ ms\): (\d+) of \1 accepted readings stored/,
    );
    for (const gate of [...BEHAVIOUR_GATES, ...IOT_GATES]) expect(output).toContain(`ok: ${gate}`);
    expect(status).toBe(0);
  }, 180_000); // the readings check adds up to readingsCheckMs after the drain

  it('counts readings the relay refuses (error frames, not deliveries) or loses, and fails those gates', async () => {
    relay = await startFakeRelay(undefined, { refuseReadingEvery: 5, loseReadingEvery: 4 });
    const { status, output, report } = await runArtillery(relay.url, path.join(dir, 'iot-faults.json'), {
      variables: { ...READINGS, readingsCheckMs: 1000 },
      gates: IOT_GATES,
    });
    const c = commonChecks(report, relay);
    expect(c['e2e.frames_misrouted']).toBe(0);
    expect(relay.counts.refused).toBeGreaterThan(0);
    expect(relay.counts.lost).toBeGreaterThan(0);
    expect(c['iot.readings_sent']).toBe(relay.counts.readings);
    expect(c['iot.readings_refused']).toBe(relay.counts.refused);
    expect(c['iot.readings_stored']).toBe(relay.counts.stored);
    expect(relay.counts.stored).toBe(relay.counts.readings - relay.counts.refused - relay.counts.lost);
    expect(output).toContain(`fail: ${IOT_GATES[0]}`);
    expect(output).toContain(`fail: ${IOT_GATES[1]}`);
    expect(output).toMatch(/readings-check mismatch: perf-t\d+-s0 on /);
    for (const gate of BEHAVIOUR_GATES) expect(output).toContain(`ok: ${gate}`);
    expect(status).toBe(1);
  }, 180_000);
});
