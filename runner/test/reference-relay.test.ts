/**
 * The reference relay keeps the contract the pack relies on: REST endpoints with {id, token},
 * ws://.../ws/<id>?token=..., every frame forwarded byte for byte (text stays text, binary stays
 * binary) to the endpoint's other sockets, never echoed, never to another endpoint.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { REFERENCE_RELAY_ENTRY } from '../capacity/probe';
import { REPO_ROOT } from '../paths';
import { spawnRelay, type RelayHandle } from '../relay-process';

jest.setTimeout(60_000);

let relay: RelayHandle;
let base: string;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reference-relay-'));
  relay = await spawnRelay({
    repoRoot: REPO_ROOT,
    entry: REFERENCE_RELAY_ENTRY,
    statsMode: 'batched',
    logFile: path.join(dir, 'relay.log'),
  });
  base = relay.target.replace('ws:', 'http:');
});

afterAll(async () => {
  expect(await relay.stop()).toBe(0);
});

async function create(): Promise<{ id: string; token: string }> {
  const res = await fetch(`${base}/api/endpoints`, { method: 'POST', body: '{"name":"x"}' });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; token: string };
}

async function connect(ep: {
  id: string;
  token: string;
}): Promise<{ ws: WebSocket; got: [Buffer, boolean][] }> {
  const ws = new WebSocket(`${relay.target}/ws/${ep.id}?token=${ep.token}`, { perMessageDeflate: false });
  const got: [Buffer, boolean][] = [];
  ws.on('message', (data, isBinary) => got.push([data as Buffer, isBinary]));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, got };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('reference relay', () => {
  it('forwards each frame byte for byte to the other sockets of its endpoint only', async () => {
    const a = await create();
    const b = await create();
    expect(typeof a.id).toBe('string');
    expect(typeof a.token).toBe('string');
    const [s1, s2, s3] = [await connect(a), await connect(a), await connect(a)];
    const other = await connect(b);

    const text = 'héllo {"seq":1}';
    const binary = Buffer.from([0, 255, 1, 128, 10, 13]);
    s1.ws.send(text);
    s1.ws.send(binary);
    // Both frames reach both peers; a frame sent last by s3 proves the others' sockets drained.
    await until(() => s2.got.length === 2 && s3.got.length === 2);
    for (const peer of [s2, s3]) {
      expect(peer.got[0][1]).toBe(false);
      expect(peer.got[0][0].toString('utf8')).toBe(text);
      expect(peer.got[1][1]).toBe(true);
      expect(peer.got[1][0].equals(binary)).toBe(true);
    }
    other.ws.send('marker');
    s3.ws.send('marker-a');
    await until(() => s1.got.length === 1 && s2.got.length === 3);
    expect(s1.got.map(([d]) => d.toString())).toEqual(['marker-a']); // no echo of its own two frames
    expect(other.got).toEqual([]); // nothing crossed endpoints

    const del = await fetch(`${base}/api/endpoints/${a.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    await Promise.all(
      [s1, s2, s3].map(
        (s) => new Promise((r) => (s.ws.readyState === WebSocket.CLOSED ? r(0) : s.ws.once('close', r))),
      ),
    );
    other.ws.close();
  });

  it('refuses sockets for unknown endpoints and answers /health', async () => {
    const ws = new WebSocket(`${relay.target}/ws/nope?token=x`);
    const status = await new Promise<number>((resolve) =>
      ws
        .once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
        .once('error', () => resolve(-1)),
    );
    expect(status).toBe(404);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});
