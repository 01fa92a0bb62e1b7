/**
 * Each processor split over two Artillery processes (what `--generators 2` starts): each process
 * creates and connects only its own whole endpoints, and the two ledgers together account every
 * delivery the relay made or dropped, exactly, against the fake relay's own counts. Timing is kept
 * out (behavioural gates only), as in relay-processor.test.ts. processors/connections.ts runs in
 * hold mode (the many-connection scenario's): each slice checks its fd budget for its own sockets
 * only, and its end-of-run check (every socket of its own endpoints counted closed by the relay)
 * runs per slice.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleProcessor } from '../../runner/processor-bundle';
import { startFakeRelay, type FakeRelay } from '../../runner/test/helpers/fake-relay';
import { mergeLatencyDir } from '../lib/latency';

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(420_000);

const ENDPOINTS = 4;
const PEERS = 3;
const GENERATORS = 2;
/** 24 msg/s over 3 s shared by 12 connections: 6 frames each. */
const FRAMES_PER_PEER = 6;

type Counters = Record<string, number>;

interface Case {
  processor: string;
  scenario: string;
  variables: Record<string, unknown>;
}

const CASES: Record<string, Case> = {
  'processors/relay.ts': {
    processor: 'processors/relay.ts',
    scenario: 'artillery/multi-endpoint-10x5.yml',
    variables: {},
  },
  // Hold mode: the many-connection scenario's. (Churn's replaced sockets are offered frames the
  // ledger owes nobody, sent while a socket was between registrations (`uncounted`), so the
  // relay's offered count cannot equal the summed expected ones.)
  'processors/connections.ts (hold)': {
    processor: 'processors/connections.ts',
    scenario: 'artillery/connections-5k.yml',
    variables: { connectionMode: 'hold', sourceAddresses: 2 },
  },
};

function runSlice(c: Case, target: string, out: string, index: number, bundle: string, hdrDir: string) {
  const overrides = {
    config: {
      processor: bundle,
      phases: [{ duration: 1, arrivalCount: (ENDPOINTS / GENERATORS) * PEERS }],
      variables: {
        endpoints: ENDPOINTS,
        connectionsPerEndpoint: PEERS,
        ratePlan: String((ENDPOINTS * PEERS * FRAMES_PER_PEER) / 3),
        holdSeconds: 3,
        rampSeconds: 1,
        settleMs: 2000,
        drainMs: 1500,
        generatorIndex: index,
        generatorCount: GENERATORS,
        ...c.variables,
      },
      ensure: {
        thresholds: [],
        conditions: [{ expression: 'vusers.failed == 0' }],
      },
    },
  };
  return new Promise<{ status: number | null; output: string; counters: Counters }>((resolve, reject) => {
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
        c.scenario,
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TARGET: target,
          WORKERS: '1',
          ARTILLERY_DISABLE_TELEMETRY: 'true',
          RELAY_PERF_HDR_DIR: hdrDir,
          RELAY_PERF_RUN_ID: `split-${index}`,
        },
      },
    );
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (status: number | null) => {
      try {
        const report = JSON.parse(readFileSync(out, 'utf8')) as { aggregate: { counters: Counters } };
        resolve({ status, output, counters: report.aggregate.counters });
      } catch (err) {
        reject(new Error(`no report (${(err as Error).message}); output:\n${output}`));
      }
    });
  });
}

describe.each(Object.keys(CASES))('%s split over two generator processes', (name) => {
  const c = CASES[name];
  let relay: FakeRelay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  it('each process owns whole endpoints; the summed ledgers equal what the relay received, offered, wrote and dropped', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-split-'));
    relay = await startFakeRelay(undefined, { dropEvery: 5 });
    const bundle = bundleProcessor(ROOT, path.join(ROOT, c.processor), path.join(dir, 'processor.js'));
    const hdrDir = path.join(dir, 'latency');
    const runs = await Promise.all(
      [0, 1].map((i) => runSlice(c, relay!.url, path.join(dir, `g${i}.json`), i, bundle, hdrDir)),
    );
    const sum = (name: string) => runs.reduce((n, r) => n + (r.counters[name] ?? 0), 0);

    // Exact when every peer counted every frame of its endpoint: none joined after the window
    // began and none was sent to a peer that had stopped counting. A loaded machine can break
    // that (a connection opening late); the generator counts it, and the figures then bound
    // each other instead of being equal.
    const timely = runs.every(
      (r) => r.counters['e2e.vus_joined_late'] === 0 && r.counters['e2e.frames_uncounted'] === 0,
    );
    const exactOrBound = (ledgerSide: number, relaySide: number) => {
      if (timely) expect(ledgerSide).toBe(relaySide);
      else expect(ledgerSide).toBeLessThanOrEqual(relaySide);
    };
    for (const r of runs) {
      if (c.processor.endsWith('connections.ts')) {
        // Its fd check plans this process's sockets, and its end-of-run check found them all closed.
        expect(r.output).toContain(`planned sockets ${(ENDPOINTS / GENERATORS) * PEERS}`);
        expect(r.output).toMatch(
          /connections-check: relay_connections 0, currentConnections 0 over 2 endpoints/,
        );
      }
      expect(r.status).toBe(0);
      expect(r.output).toContain(`created ${ENDPOINTS / GENERATORS} endpoints`);
      // The bundle sits in a temporary directory, outside any node_modules tree: the engine's
      // ws 8 swap still finds the running Artillery (processors/lib/engine-socket.ts).
      if (c.processor.endsWith('relay.ts')) expect(r.output).toMatch(/VU sockets from ws 8\./);
      expect(r.counters['vusers.completed']).toBe((ENDPOINTS / GENERATORS) * PEERS);
      // No frame crossed into the other process's endpoints (a frame sent while its receiver
      // counted that this process's ledger did not owe would be extra), late joiners or not.
      expect(r.counters['e2e.frames_extra']).toBe(0);
      expect(r.counters['e2e.frames_misrouted']).toBe(0);
      // Every connection kept its share of the plan (a late one is not due what it missed).
      exactOrBound(r.counters['e2e.frames_due'], (ENDPOINTS / GENERATORS) * PEERS * FRAMES_PER_PEER);
    }
    expect(relay.counts.received).toBe(sum('e2e.frames_sent'));
    exactOrBound(sum('e2e.frames_expected'), sum('e2e.frames_sent') * (PEERS - 1));
    exactOrBound(sum('e2e.frames_expected'), relay.counts.offered);
    expect(relay.counts.dropped).toBeGreaterThan(0);
    exactOrBound(sum('e2e.frames_lost'), relay.counts.dropped);
    exactOrBound(sum('e2e.frames_delivered'), relay.counts.written);
    // One HDR file per process's worker thread, merged exactly.
    const merged = mergeLatencyDir(hdrDir)!;
    expect(merged.files).toBe(GENERATORS);
    expect(merged.set.intended.totalCount).toBe(sum('e2e.frames_delivered'));
    expect(merged.set.sendLag.totalCount).toBe(sum('e2e.frames_sent'));
    if (c.processor.endsWith('connections.ts'))
      expect(sum('conn.sockets_opened')).toBe(relay.counts.connections);
    expect(relay.counts.connections).toBe(ENDPOINTS * PEERS);
  });
});
