import path from 'node:path';
import { summarizeProfile, summarizeProfileFile } from '../cpu-profile';

const fixture = path.join(__dirname, 'fixtures/small.cpuprofile');

describe('summarizeProfileFile', () => {
  const summary = summarizeProfileFile(fixture);

  test('charges each sample delta to its node and leaves idle time out of busy time', () => {
    expect(summary.durationMs).toBe(10);
    expect(summary.busyMs).toBe(8);
  });

  test('ranks functions by self time, merging the same function reached by two paths', () => {
    expect(summary.top.map((f) => [f.functionName, f.selfMs])).toEqual([
      ['update', 4],
      ['broadcast', 3],
      ['route', 1],
    ]);
    const broadcast = summary.top.find((f) => f.functionName === 'broadcast')!;
    expect(broadcast.location).toBe('backend/src/websocket/connection-manager.js:41');
    expect(broadcast.selfPercent).toBeCloseTo(37.5, 1);
  });

  test('groups self time by area of the stack', () => {
    expect(summary.byArea).toEqual([
      { area: 'relay code', selfMs: 4, selfPercent: 50 },
      { area: 'Prisma client and adapters', selfMs: 4, selfPercent: 50 },
    ]);
  });

  test('shortens pnpm store paths to the package path', () => {
    expect(summary.top[0].location).toBe('@prisma/client/runtime/client.js:100');
  });

  test('falls back to hit counts when a profile has no samples', () => {
    const s = summarizeProfile({
      nodes: [
        { id: 1, callFrame: { functionName: 'a', url: '', lineNumber: 0, columnNumber: 0 }, hitCount: 3 },
        { id: 2, callFrame: { functionName: 'b', url: '', lineNumber: 0, columnNumber: 0 }, hitCount: 1 },
      ],
      startTime: 0,
      endTime: 4000,
    });
    expect(s.top.map((f) => [f.functionName, f.selfMs])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
  });
});
