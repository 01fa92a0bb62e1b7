import {
  ID_STRIDE,
  processIndexOf,
  senderIdOf,
  senderTargetIndex,
  targetIndexOf,
  targetsFrom,
} from '../lib/targets';

/** Connections per (endpoint slot, process) when a thread's VUs 0..E*C-1 take slots round-robin, as relay.ts does. */
function spread(endpoints: number, perEndpoint: number, targets: number): number[][] {
  const counts = Array.from({ length: endpoints }, () => new Array<number>(targets).fill(0));
  for (let vu = 0; vu < endpoints * perEndpoint; vu++)
    counts[vu % endpoints][targetIndexOf(vu, endpoints, targets)]++;
  return counts;
}

describe('targetsFrom', () => {
  it('falls back to the single target without TARGETS (or an empty one)', () => {
    expect(targetsFrom(undefined, 'ws://a:1')).toEqual(['ws://a:1']);
    expect(targetsFrom('', 'ws://a:1')).toEqual(['ws://a:1']);
    expect(targetsFrom(' , ', 'ws://a:1')).toEqual(['ws://a:1']);
  });

  it('reads a comma-separated list in order, trimmed', () => {
    expect(targetsFrom('ws://a:1, wss://b:2 ,ws://c:3', 'ws://x:9')).toEqual([
      'ws://a:1',
      'wss://b:2',
      'ws://c:3',
    ]);
  });

  it.each([
    ['ws://a:1,not a url', /TARGETS: "not a url" is not a URL/],
    ['http://a:1', /TARGETS: "http:\/\/a:1" is not a ws:\/\/ or wss:\/\/ URL/],
  ])('refuses %s', (env, message) => {
    expect(() => targetsFrom(env, 'ws://x:9')).toThrow(message);
  });
});

describe('targetIndexOf: each endpoint spread over every process', () => {
  it('one target: everything on process 0', () => {
    for (let vu = 0; vu < 100; vu++) expect(targetIndexOf(vu, 7, 1)).toBe(0);
  });

  it.each([
    // [endpoints, connections per endpoint, processes]
    [50, 10, 2],
    [50, 10, 3],
    [5000, 10, 3],
    [1, 20, 3],
    [4, 6, 2], // endpoints a multiple of the process count: index % N alone would put whole endpoints on one process
    [6, 5, 3],
  ])(
    '%i endpoints x %i over %i processes: every endpoint has floor or ceil of its share on each',
    (e, c, n) => {
      const counts = spread(e, c, n);
      for (const perProcess of counts) {
        expect(perProcess.reduce((a, b) => a + b, 0)).toBe(c);
        for (const k of perProcess) {
          expect(k).toBeGreaterThanOrEqual(Math.floor(c / n));
          expect(k).toBeLessThanOrEqual(Math.ceil(c / n));
        }
      }
      // and the processes share the connections evenly overall: totals differ by less than n
      // (starting every endpoint at process 0 put 20,000 of 5,000 x 10 on one of 3 processes)
      const totals = new Array<number>(n).fill(0);
      for (const perProcess of counts) perProcess.forEach((k, i) => (totals[i] += k));
      expect(Math.max(...totals) - Math.min(...totals)).toBeLessThan(n);
    },
  );

  it('fewer connections than processes: an endpoint still uses distinct processes, and the endpoints rotate', () => {
    expect(spread(3, 2, 3)).toEqual([
      [1, 1, 0],
      [0, 1, 1],
      [1, 0, 1],
    ]);
  });

  it('5,000 x 10 over 3 processes: 16,667 / 16,667 / 16,666, under a 20,000-descriptor limit each', () => {
    const totals = [0, 0, 0];
    for (let slot = 0; slot < 5000; slot++)
      for (let rank = 0; rank < 10; rank++) totals[processIndexOf(slot, rank, 3)]++;
    expect(totals.sort()).toEqual([16666, 16667, 16667]);
  });
});

describe('senderTargetIndex: the receiver tells where the sender was from the sender id', () => {
  it('agrees with targetIndexOf for every VU of several threads', () => {
    for (const thread of [1, 2, 17])
      for (let vu = 0; vu < 1500; vu++) {
        const id = senderIdOf(thread, vu);
        expect(id).toBe(thread * ID_STRIDE + vu);
        expect(senderTargetIndex(id, 50, 3)).toBe(targetIndexOf(vu, 50, 3));
      }
  });

  it('with 10 per endpoint over 2 processes, each sender has 4 local and 5 cross-process peers', () => {
    const e = 50;
    let local = 0;
    let cross = 0;
    for (let sender = 0; sender < e * 10; sender++)
      for (let receiver = 0; receiver < e * 10; receiver++) {
        if (receiver === sender || receiver % e !== sender % e) continue;
        const same = senderTargetIndex(senderIdOf(1, sender), e, 2) === targetIndexOf(receiver, e, 2);
        if (same) local++;
        else cross++;
      }
    expect(local / (e * 10)).toBe(4);
    expect(cross / (e * 10)).toBe(5);
  });
});
