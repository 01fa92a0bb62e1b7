import { parseGcTrace } from '../../scripts/gc-pauses';

// Lines as Node 20 (V8 11.3) prints them with --trace-gc, from two isolates, between other output.
const LOG = [
  'created 50 endpoints on http://127.0.0.1:3000 in 120 ms',
  '[9436:0x1d51cd90]       38 ms: Scavenge 3.8 (4.0) -> 3.4 (5.0) MB, 2.30 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
  '[9436:0x7f00a0000]     1518 ms: Mark-Compact 239.8 (264.7) -> 54.2 (89.1) MB, 114.15 / 0.01 ms  (+ 1.6 ms in 9 steps since start of marking, biggest step 0.6 ms, walltime since start of marking 123 ms) (average mu = 0.845, current mu = 0.845) finalize incremental marking via stack guard; GC in old space requested',
  '[9436:0x7f00a0000]     2188 ms: Mark-Compact (reduce) 58.6 (88.9) -> 44.1 (82.3) MB, 10.25 / 0.01 ms  (average mu = 0.883, current mu = 0.925) external memory pressure; GC in old space requested',
  'Phase completed: hold (index: 1, duration: 20s)',
].join('\n');

describe('parseGcTrace', () => {
  test('reads each collection with its isolate, clock, collector, heap and pause; ignores other lines', () => {
    expect(parseGcTrace(LOG)).toEqual([
      {
        isolate: '9436:0x1d51cd90',
        atMs: 38,
        kind: 'Scavenge',
        beforeMb: 3.8,
        afterMb: 3.4,
        pauseMs: 2.3,
        biggestStepMs: 0,
      },
      {
        isolate: '9436:0x7f00a0000',
        atMs: 1518,
        kind: 'Mark-Compact',
        beforeMb: 239.8,
        afterMb: 54.2,
        pauseMs: 114.15,
        biggestStepMs: 0.6,
      },
      {
        isolate: '9436:0x7f00a0000',
        atMs: 2188,
        kind: 'Mark-Compact',
        beforeMb: 58.6,
        afterMb: 44.1,
        pauseMs: 10.25,
        biggestStepMs: 0,
      },
    ]);
  });

  test('a log without --trace-gc lines gives nothing', () => {
    expect(parseGcTrace('no gc here\n[12:0x1] not a gc line')).toEqual([]);
  });
});
