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
    members[2].counting = false;
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

  it('stops owing to a receiver once it leaves', () => {
    const { ledger, members } = room(2);
    ledger.leave(members[1]);
    expect(ledger.recordSend(members[0], 1)).toBe(0);
  });
});
