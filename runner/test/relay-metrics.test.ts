import { parsePrometheus, quantile, relayFigures } from '../relay-metrics';

const before = `
# HELP relay_frames_received_total x
# TYPE relay_frames_received_total counter
relay_frames_received_total 100
relay_deliveries_total 900
relay_db_statements_total{verb="UPDATE"} 100
relay_db_statements_total{verb="SELECT"} 5
relay_db_query_duration_seconds_bucket{le="0.001",model="EndpointStats",operation="update"} 90
relay_db_query_duration_seconds_bucket{le="0.01",model="EndpointStats",operation="update"} 100
relay_db_query_duration_seconds_bucket{le="+Inf",model="EndpointStats",operation="update"} 100
relay_db_query_duration_seconds_sum{model="EndpointStats",operation="update"} 0.1
relay_db_query_duration_seconds_count{model="EndpointStats",operation="update"} 100
relay_forward_duration_seconds_bucket{le="0.001"} 100
relay_forward_duration_seconds_bucket{le="0.01"} 100
relay_forward_duration_seconds_bucket{le="+Inf"} 100
relay_forward_duration_seconds_sum 0.05
relay_forward_duration_seconds_count 100
`;

const after = `
relay_frames_received_total 1100
relay_deliveries_total 9900
relay_db_statements_total{verb="UPDATE"} 1100
relay_db_statements_total{verb="SELECT"} 5
relay_db_statements_total{verb="BEGIN"} 2
relay_db_query_duration_seconds_bucket{le="0.001",model="EndpointStats",operation="update"} 490
relay_db_query_duration_seconds_bucket{le="0.01",model="EndpointStats",operation="update"} 1100
relay_db_query_duration_seconds_bucket{le="+Inf",model="EndpointStats",operation="update"} 1100
relay_db_query_duration_seconds_sum{model="EndpointStats",operation="update"} 3.1
relay_db_query_duration_seconds_count{model="EndpointStats",operation="update"} 1100
relay_forward_duration_seconds_bucket{le="0.001"} 1100
relay_forward_duration_seconds_bucket{le="0.01"} 1100
relay_forward_duration_seconds_bucket{le="+Inf"} 1100
relay_forward_duration_seconds_sum 0.55
relay_forward_duration_seconds_count 1100
relay_flush_duration_seconds_bucket{le="0.01",kind="stats",outcome="ok"} 4
relay_flush_duration_seconds_bucket{le="+Inf",kind="stats",outcome="ok"} 4
relay_flush_duration_seconds_sum{kind="stats",outcome="ok"} 0.008
relay_flush_duration_seconds_count{kind="stats",outcome="ok"} 4
relay_flush_duration_seconds_count{kind="stats",outcome="failed"} 1
relay_flush_rows_total{kind="stats",outcome="ok"} 200
nodejs_eventloop_lag_p99_seconds 0.0123
nodejs_eventloop_lag_max_seconds 0.05
relay_heartbeat_slots 300
`;

test('parsePrometheus reads names, labels (with escapes) and +Inf', () => {
  const s = parsePrometheus('a_total{x="1",y="q\\"uote"} 3\nb_bucket{le="+Inf"} 7\n# comment\nc +Inf');
  expect(s).toEqual([
    { name: 'a_total', labels: { x: '1', y: 'q"uote' }, value: 3 },
    { name: 'b_bucket', labels: { le: '+Inf' }, value: 7 },
    { name: 'c', labels: {}, value: Infinity },
  ]);
});

describe('relayFigures', () => {
  const f = relayFigures(before, after);

  test('counts only what happened between the two scrapes', () => {
    expect(f.framesReceived).toBe(1000);
    expect(f.deliveries).toBe(9000);
    expect(f.db.queries).toBe(1000);
    expect(f.db.statementsByVerb).toEqual({ UPDATE: 1000, BEGIN: 2 });
    expect(f.db.statements).toBe(1002);
    expect(f.db.statementsPer1000Frames).toBe(1002);
    // 1000 EndpointStats.update operations + 5 stats flushes (4 ok, 1 failed).
    expect(f.db.statsWrites).toBe(1005);
    expect(f.db.statsWritesPer1000Frames).toBe(1005);
  });

  test('averages and bucket-interpolated percentiles come from the deltas', () => {
    expect(f.db.avgMs).toBe(3);
    // 400 of the 1000 new queries are under 1 ms, 600 in (1, 10] ms: p95 is 10 * 550/600 ... inside that bucket.
    expect(f.db.p95Ms).toBeCloseTo(1 + 9 * ((950 - 400) / 600), 1);
    expect(f.forward.avgMs).toBe(0.5);
    expect(f.db.operations).toEqual([
      {
        model: 'EndpointStats',
        operation: 'update',
        count: 1000,
        avgMs: 3,
        p95Ms: f.db.p95Ms,
        p95MsCapped: false,
      },
    ]);
  });

  test('flushes, event loop', () => {
    expect(f.flushes).toEqual([{ kind: 'stats', count: 4, avgMs: 2, rows: 200, failed: 1 }]);
    expect(f.eventLoop).toEqual({ p99Ms: 12.3, maxMs: 50 });
  });

  test('heartbeat slots from the gauge; null from a relay without it', () => {
    expect(f.heartbeatSlots).toBe(300);
    expect(relayFigures(before, before).heartbeatSlots).toBeNull();
  });

  test('no frames: no per-frame ratio', () => {
    expect(relayFigures(before, before).db.statementsPer1000Frames).toBeNull();
  });
});

test('each operation kind gets its own p95 from its own buckets', () => {
  const op = (model: string, operation: string, fast: number, slow: number, sum: number) => [
    `relay_db_query_duration_seconds_bucket{le="0.005",model="${model}",operation="${operation}"} ${fast}`,
    `relay_db_query_duration_seconds_bucket{le="0.1",model="${model}",operation="${operation}"} ${fast + slow}`,
    `relay_db_query_duration_seconds_bucket{le="+Inf",model="${model}",operation="${operation}"} ${fast + slow}`,
    `relay_db_query_duration_seconds_sum{model="${model}",operation="${operation}"} ${sum}`,
    `relay_db_query_duration_seconds_count{model="${model}",operation="${operation}"} ${fast + slow}`,
  ];
  const f = relayFigures(
    '',
    [...op('Endpoint', 'findUnique', 100, 0, 0.2), ...op('Endpoint', 'create', 0, 10, 0.6)].join('\n'),
  );
  const byKey = Object.fromEntries(f.db.operations.map((o) => [`${o.model}.${o.operation}`, o]));
  // all 100 token checks under 5 ms: p95 inside the first bucket
  expect(byKey['Endpoint.findUnique'].p95Ms).toBeCloseTo(4.75, 2);
  expect(byKey['Endpoint.findUnique'].avgMs).toBe(2);
  // all 10 creates in (5, 100] ms
  expect(byKey['Endpoint.create'].p95Ms).toBeCloseTo(5 + 95 * 0.95, 1);
  expect(byKey['Endpoint.create'].avgMs).toBe(60);
  // the mixed histogram's p95 lands in the slow bucket only because of the creates
  // 110 queries, p95 is the 104.5th: 4.5 of the 10 into the (5, 100] ms bucket.
  expect(f.db.p95Ms).toBeCloseTo(5 + 95 * (4.5 / 10), 1);
});

test('a percentile above the highest finite bucket is flagged as a lower bound', () => {
  const f = relayFigures(
    'relay_forward_duration_seconds_count 0',
    [
      'relay_forward_duration_seconds_bucket{le="0.5"} 10',
      'relay_forward_duration_seconds_bucket{le="1"} 90',
      'relay_forward_duration_seconds_bucket{le="+Inf"} 100',
      'relay_forward_duration_seconds_sum 300',
      'relay_forward_duration_seconds_count 100',
    ].join('\n'),
  );
  expect(f.forward.p95Ms).toBe(1000);
  expect(f.forward.p95MsCapped).toBe(true);
  expect(f.forward.p99MsCapped).toBe(true);
  expect(f.db.p95MsCapped).toBe(false);
});

test('quantile returns null for an empty histogram and the lower bound for the +Inf bucket', () => {
  expect(quantile({ count: 0, sumSeconds: 0, buckets: [] }, 0.5)).toBeNull();
  expect(
    quantile(
      {
        count: 2,
        sumSeconds: 9,
        buckets: [
          [1, 0],
          [Infinity, 2],
        ],
      },
      0.5,
    ),
  ).toBe(1);
});
