import { Ledger, Receiver } from '../lib/ledger';

function room(n: number, slot = 0) {
  const ledger = new Ledger();
  const members = Array.from({ length: n }, (_, i) => new Receiver(i + 1, slot));
  members.forEach((m) => ledger.join(m));
  return { ledger, members };
}

describe('delivery ledger', () => {
  it('owes every frame to every other counting peer, never to the sender', () => {
    const { ledger, members } = room(3);
    expect(ledger.recordSend(members[0], 1)).toBe(2);
    expect(members[0].totals.expected).toBe(0);
    expect(members[1].totals.expected).toBe(1);
    members[2].stopCounting(0);
    expect(ledger.recordSend(members[0], 2)).toBe(1);
  });

  it('counts in-order deliveries and reports what is outstanding', () => {
    const { ledger, members } = room(2);
    const [a, b] = members;
    for (let seq = 1; seq <= 3; seq++) ledger.recordSend(a, seq);
    expect(b.receive(0, a.id, 1)).toBe('delivered');
    expect(b.receive(0, a.id, 2)).toBe('delivered');
    expect(b.outstanding()).toBe(1);
    expect(b.receive(0, a.id, 3)).toBe('delivered');
    expect(b.outstanding()).toBe(0);
  });

  it('tells duplicates from late frames that fill a gap', () => {
    const { ledger, members } = room(2);
    const [a, b] = members;
    for (let seq = 1; seq <= 4; seq++) ledger.recordSend(a, seq);
    b.receive(0, a.id, 1);
    b.receive(0, a.id, 3); // 2 is now a gap
    expect(b.receive(0, a.id, 2)).toBe('reordered');
    expect(b.receive(0, a.id, 2)).toBe('duplicated');
    expect(b.receive(0, a.id, 3)).toBe('duplicated');
    expect(b.totals).toMatchObject({ expected: 4, delivered: 3, duplicated: 2, reordered: 1 });
    expect(b.outstanding()).toBe(1);
  });

  it('flags echoes and cross-endpoint frames as misrouted', () => {
    const { ledger, members } = room(2, 0);
    const [a, b] = members;
    ledger.recordSend(a, 1);
    expect(a.receive(0, a.id, 1)).toBe('misrouted');
    expect(b.receive(7, a.id, 1)).toBe('misrouted');
  });

  it('treats frames that were never owed as extra, not as deliveries', () => {
    const { members } = room(2);
    const [a, b] = members;
    expect(b.receive(0, a.id, 1)).toBe('extra');
    expect(b.totals.delivered).toBe(0);
  });

  it("tells frames sent outside a receiver's counting interval (uncounted) from the rest (extra)", () => {
    const ledger = new Ledger();
    const [a, b] = [new Receiver(1, 0), new Receiver(2, 0)];
    ledger.join(a, 100);
    ledger.recordSend(a, 1); // stamped 150, before b joined
    ledger.join(b, 200);
    ledger.recordSend(a, 2); // stamped 250: owed to b
    b.stopCounting(300);
    b.stopCounting(400); // only the first stop counts
    ledger.recordSend(a, 3); // stamped 350, after b stopped
    expect(b.receive(0, a.id, 1, 150)).toBe('uncounted');
    expect(b.receive(0, a.id, 2, 250)).toBe('delivered');
    expect(b.receive(0, a.id, 3, 350)).toBe('uncounted');
    // The interval's ends: a stamp equal to the join or the stop is outside it.
    expect(b.receive(0, a.id, 0, 200)).toBe('uncounted');
    expect(b.receive(0, a.id, 4, 300)).toBe('uncounted');
    // Sent while b counted, by a sender this ledger never saw (another worker's): extra.
    expect(b.receive(0, 99, 1, 201)).toBe('extra');
    expect(b.receive(0, 99, 2, 299)).toBe('extra');
    // No stamp: never taken for an uncounted one.
    expect(b.receive(0, 99, 3)).toBe('extra');
    expect(b.totals).toMatchObject({ expected: 1, delivered: 1, uncounted: 4, extra: 3 });
  });

  it('without a join time, an unowed frame sent while counting is extra however early', () => {
    const { members } = room(2);
    expect(members[1].receive(0, members[0].id, 1, -1e12)).toBe('extra');
    members[1].stopCounting(10);
    expect(members[1].receive(0, members[0].id, 1, 10)).toBe('uncounted');
  });

  it('owes nothing on an endpoint slot nobody joined', () => {
    expect(new Ledger().recordSend(new Receiver(1, 3), 1)).toBe(0);
  });

  it('stops owing to a receiver once it leaves', () => {
    const { ledger, members } = room(2);
    ledger.leave(members[1]);
    expect(ledger.recordSend(members[0], 1)).toBe(0);
  });
});
