/**
 * The pack's reference relay (runner/reference-relay.ts), started once for a test file that
 * drives it as a user would: registers beforeAll/afterAll (the relay must exit 0) and returns
 * accessors for the running relay and the file's scratch directory (relay.log is there).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REFERENCE_RELAY_ENTRY } from '../../capacity/probe';
import { REPO_ROOT } from '../../paths';
import { spawnRelay, type RelayHandle } from '../../relay-process';

export function useReferenceRelay(prefix: string): { relay: () => RelayHandle; work: () => string } {
  let relay: RelayHandle | undefined;
  let work: string | undefined;
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), prefix));
    relay = await spawnRelay({
      repoRoot: REPO_ROOT,
      entry: REFERENCE_RELAY_ENTRY,
      statsMode: 'batched',
      logFile: path.join(work, 'relay.log'),
    });
  });
  afterAll(async () => {
    expect(await relay?.stop()).toBe(0);
  });
  return {
    relay: () => relay ?? fail('the reference relay has not started'),
    work: () => work ?? fail('the reference relay has not started'),
  };
}

function fail(message: string): never {
  throw new Error(message);
}
