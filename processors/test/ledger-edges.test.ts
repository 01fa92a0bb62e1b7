/** Receiver accounting at its edges: the owed range's ends, totals per outcome, gaps and their cap. */
import { Receiver } from '../lib/ledger';

/** A receiver on endpoint slot 1 owed frames lo..hi from sender 7. */
function owedRange(lo: number, hi: number): Receiver {
  const r = new Receiver(1, 1);
  for (let s = lo; s <= hi; s++) r.owe(7, s);
  return r;
}

describe('Receiver edges', () => {
  it('counts every misrouted and extra frame in the totals', () => {
    const r = owedRange(5, 7);
    expect(r.receive(2, 7, 5)).toBe('misrouted'); // other endpoint
    expect(r.receive(1, 1, 5)).toBe('misrouted'); // own echo
    expect(r.receive(1, 7, 4)).toBe('extra'); // before the owed range
    expect(r.receive(1, 7, 8)).toBe('extra'); // after it
    expect(r.receive(1, 9, 5)).toBe('extra'); // a sender that owes nothing
    expect(r.totals).toEqual({
      expected: 3,
      delivered: 0,
      duplicated: 0,
      misrouted: 2,
      reordered: 0,
      uncounted: 0,
      extra: 3,
    });
    expect(r.outstanding()).toBe(3);
  });

  it('takes both ends of the owed range as owed', () => {
    const r = owedRange(5, 7);
    expect(r.receive(1, 7, 5)).toBe('delivered');
    expect(r.receive(1, 7, 7)).toBe('delivered');
    expect(r.receive(1, 7, 6)).toBe('reordered');
    expect(r.outstanding()).toBe(0);
  });

  it('a gap covers only the skipped numbers: a repeat of an already-seen frame stays a duplicate', () => {
    const r = owedRange(1, 6);
    expect(r.receive(1, 7, 1)).toBe('delivered');
    expect(r.receive(1, 7, 2)).toBe('delivered');
    expect(r.receive(1, 7, 5)).toBe('delivered'); // 3 and 4 skipped
    expect(r.receive(1, 7, 2)).toBe('duplicated');
    expect(r.receive(1, 7, 1)).toBe('duplicated');
    expect(r.receive(1, 7, 5)).toBe('duplicated');
    expect(r.receive(1, 7, 4)).toBe('reordered');
    expect(r.receive(1, 7, 3)).toBe('reordered');
    expect(r.receive(1, 7, 3)).toBe('duplicated');
    expect(r.totals).toMatchObject({ delivered: 5, reordered: 2, duplicated: 4 });
  });

  it('tracks at most 100,000 gaps per sender (bounded memory): a later late frame counts as a duplicate', () => {
    const r = owedRange(0, 200_000);
    expect(r.receive(1, 7, 200_000)).toBe('delivered'); // 0..199,999 skipped; the first 100,000 are tracked
    expect(r.receive(1, 7, 0)).toBe('reordered');
    expect(r.receive(1, 7, 99_999)).toBe('reordered');
    expect(r.receive(1, 7, 100_000)).toBe('duplicated');
    expect(r.totals.delivered).toBe(3);
  });
});
