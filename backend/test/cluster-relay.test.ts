import { eachDb, requireDb } from './helpers/databases';
import {
  describeWithRedis,
  startCluster,
  uniquePrefix,
  type Cluster,
  type ClusterNode,
  type CreatedEndpoint,
} from './helpers/cluster';
import { closeAll, eventually, sleep, type Client, type Frame } from './helpers/ws';

/**
 * Three relay processes on one database and one Redis act as one relay: what a client on any
 * of them sends reaches every other client of the endpoint on all of them, exactly once, bytes
 * and frame type unchanged, in order per sender; deletes and rule changes reach every process;
 * every process answers the same stats.
 */
const key = (f: Frame) => `${f.isBinary ? 'bin' : 'txt'}:${f.data.toString('hex')}`;

describeWithRedis('cluster of 3 relay processes', (redis) => {
  eachDb('relaying', (db) => {
    let cluster: Cluster;
    let nodes: ClusterNode[];
    const clients: Client[] = [];
    const track = <T extends Client>(c: T): T => {
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      requireDb(db);
      // Started together on a fresh database: the three migrate at once, one of them for real.
      cluster = await startCluster(3, {
        databaseUrl: db.url(),
        redisUrl: redis().url,
        prefix: uniquePrefix('relay'),
        // Ten minutes: a rule change seen sooner was pushed over the bus, not re-read.
        env: { ALERT_RULES_CACHE_MS: '600000' },
      });
      nodes = cluster.nodes;
    }, 120000);
    afterAll(async () => {
      await closeAll(clients);
      await cluster?.stop();
    }, 60000);

    it('every process started on the same fresh database (migrations ran once, none failed)', async () => {
      for (const node of nodes) expect(node.proc.child.exitCode).toBeNull();
      const applied = nodes.flatMap((n) =>
        n.proc
          .stdout()
          .split('\n')
          .filter((l) => l.includes('migration applied')),
      );
      // SQLite is a fresh file: every migration applied exactly once across the three processes.
      if (db.name === 'sqlite') {
        const names = applied.map((l) => (JSON.parse(l) as { migration: string }).migration);
        expect(names.length).toBeGreaterThan(0);
        expect(new Set(names).size).toBe(names.length);
      }
    });

    describe('delivery', () => {
      let ep: CreatedEndpoint;
      let other: CreatedEndpoint;
      /** Two clients of `ep` on each process. */
      let members: Client[];
      /** One client of `other` on each process: must never see `ep`'s frames. */
      let outsiders: Client[];

      // Fresh endpoints and clients per test: no test sees another's frames or counts.
      beforeEach(async () => {
        ep = await nodes[0].createEndpoint('deliver');
        other = await nodes[1].createEndpoint('other');
        members = [];
        for (const [i, node] of nodes.entries())
          for (const j of [0, 1]) members.push(track(await node.connect(ep, `n${i}c${j}`)));
        outsiders = [];
        for (const [i, node] of nodes.entries())
          outsiders.push(track(await node.connect(other, `other${i}`)));
      });

      it('text and binary frames reach every other client on every process exactly once, unchanged', async () => {
        // Text with multi-byte UTF-8; binary with every byte value, including invalid UTF-8.
        const sent = members.map((_, i) => ({
          text: Buffer.from(`{"from":${i},"t":"héllo ✓ ${i}"}`, 'utf8'),
          bin: Buffer.from([i, 0x00, 0xff, 0xfe, 0x80, ...Array.from({ length: 256 }, (_, b) => b)]),
        }));
        await Promise.all(
          members.map(async (c, i) => {
            await c.send(sent[i].text, false);
            await c.send(sent[i].bin, true);
          }),
        );
        for (const [i, c] of members.entries()) {
          const expected = sent
            .flatMap((s, j) =>
              j === i ? [] : [key({ data: s.text, isBinary: false }), key({ data: s.bin, isBinary: true })],
            )
            .sort();
          await c.waitForCount(expected.length, 15000);
          // A duplicate would arrive right behind the original; give it the chance to show.
          await sleep(300);
          expect(c.frames.map(key).sort()).toEqual(expected);
        }
        // The other endpoint's clients got nothing: one frame of their own proves their path works.
        await outsiders[0].send('other-only', false);
        for (const o of outsiders.slice(1)) await o.waitForCount(1, 10000);
        await sleep(200);
        for (const [i, o] of outsiders.entries())
          expect(o.frames.map((f) => f.data.toString())).toEqual(i === 0 ? [] : ['other-only']);
      });

      it('keeps each sender’s order on every process', async () => {
        const n = 300;
        const senders = [members[0], members[3]]; // one on process 0, one on process 1
        await Promise.all(
          senders.map(async (s, si) => {
            for (let k = 0; k < n; k++) {
              // Alternating frame types: order must hold across both.
              if (k % 2) await s.send(Buffer.from(`s${si}:${k}`), true);
              else await s.send(`s${si}:${k}`, false);
            }
          }),
        );
        for (const c of members) {
          const fromOthers = senders.filter((s) => s !== c).length;
          await c.waitForCount(n * fromOthers, 20000);
          for (const [si, s] of senders.entries()) {
            if (s === c) continue;
            const seq = c.frames
              .map((f) => ({ text: f.data.toString(), isBinary: f.isBinary }))
              .filter((f) => f.text.startsWith(`s${si}:`));
            expect(seq.map((f) => Number(f.text.split(':')[1]))).toEqual(
              Array.from({ length: n }, (_, k) => k),
            );
            expect(seq.every((f, k) => f.isBinary === (k % 2 === 1))).toBe(true);
          }
        }
      });

      it('every process answers the same exact stats once each has flushed', async () => {
        for (const [i, c] of members.entries()) {
          await c.send(`m${i}:a`, false);
          await c.send(`m${i}:b`, false);
        }
        const expected = { currentConnections: 6, totalConnections: 6, totalMessages: 6 * 2 };
        const answers = await eventually(
          () => Promise.all(nodes.map((n) => n.stats(ep.id))),
          (all) => all.every((s) => JSON.stringify(s) === JSON.stringify(expected)),
          { timeoutMs: 15000, intervalMs: 100, what: 'identical stats from all processes' },
        );
        expect(answers).toEqual([expected, expected, expected]);
        await closeAll(members.slice(0, 3));
        const after = { ...expected, currentConnections: 3 };
        await eventually(
          () => Promise.all(nodes.map((n) => n.stats(ep.id))),
          (all) => all.every((s) => JSON.stringify(s) === JSON.stringify(after)),
          { timeoutMs: 15000, intervalMs: 100, what: 'stats after 3 disconnects' },
        );
      });
    });

    it('DELETE on one process closes the endpoint’s sockets on every process with 4404', async () => {
      const doomed = await nodes[0].createEndpoint('doomed');
      const kept = await nodes[0].createEndpoint('kept');
      const victims = await Promise.all(nodes.map((n, i) => n.connect(doomed, `doomed${i}`).then(track)));
      const survivors = await Promise.all(nodes.map((n, i) => n.connect(kept, `kept${i}`).then(track)));
      const res = await nodes[1].request('DELETE', `/api/endpoints/${doomed.id}`);
      expect(res.status).toBe(204);
      const closes = await Promise.all(victims.map((v) => v.waitClosed(10000)));
      expect(closes.map((c) => c.code)).toEqual([4404, 4404, 4404]);
      // Other endpoints are untouched and still relay across processes.
      expect(survivors.every((s) => s.isOpen)).toBe(true);
      await survivors[2].send('still-here', false);
      await survivors[0].waitForCount(1, 10000);
      await survivors[1].waitForCount(1, 10000);
      expect(survivors[0].frames.map((f) => f.data.toString())).toEqual(['still-here']);
    });

    it('an alert-rule change on one process reaches the others’ rule caches at once', async () => {
      const ep = await nodes[0].createEndpoint('rules');
      const onB = track(await nodes[1].connect(ep, 'rules-b'));
      const onC = track(await nodes[2].connect(ep, 'rules-c'));
      const alertsOn = (c: Client) =>
        c.json<{ type: string; ruleId: number }>().filter((m) => m.type === 'alert');
      const first = await nodes[0].request<{ id: number }>('POST', `/api/endpoints/${ep.id}/alert-rules`, {
        field: 't',
        operator: '>',
        threshold: 0,
      });
      expect(first.status).toBe(201);
      // Process 1 evaluates a reading: its cache now holds the first rule only (for ten minutes).
      await onB.send(JSON.stringify({ type: 'device_data', deviceId: 'd', data: { t: 1, h: 0 } }), false);
      // The alert it raised is broadcast to the endpoint's clients on the other processes too.
      await onC.waitFor(
        (f) => f.some((x) => x.data.toString().includes('"alert"')),
        10000,
        'first alert on C',
      );
      expect(alertsOn(onC).map((a) => a.ruleId)).toEqual([first.body.id]);

      const second = await nodes[0].request<{ id: number }>('POST', `/api/endpoints/${ep.id}/alert-rules`, {
        field: 'h',
        operator: '>',
        threshold: 0,
      });
      expect(second.status).toBe(201);
      // Readings that only the second rule matches: an alert means process 1 dropped its cache.
      await eventually(
        async () => {
          await onB.send(JSON.stringify({ type: 'device_data', deviceId: 'd', data: { t: 0, h: 1 } }), false);
          await sleep(100);
          return alertsOn(onC).map((a) => a.ruleId);
        },
        (ids) => ids.includes(second.body.id),
        { timeoutMs: 10000, what: 'alert from the new rule' },
      );
    });
  });
});
