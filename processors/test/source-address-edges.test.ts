import { fdLimits, sourceAddress } from '../lib/source-address';

describe('sourceAddress pool size', () => {
  it('allows the largest pool that fits in 127/8 (127.0.0.2 to 127.255.255.254), not one more', () => {
    expect(sourceAddress(0, 0xfffffd)).toBe('127.0.0.2');
    expect(sourceAddress(0xfffffc, 0xfffffd)).toBe('127.255.255.254');
    expect(() => sourceAddress(0, 0xfffffe)).toThrow(
      'sourceAddresses 16777214: 127/8 has no room for that many',
    );
  });
});

describe('fdLimits', () => {
  it('reads only the line that starts with "Max open files"', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit',
      'Not Max open files 5 5',
      'Max open files            1024                 524288',
    ].join('\n');
    expect(fdLimits(text)).toEqual({ soft: 1024, hard: 524288 });
  });
});
