import { freePort } from './helpers/process';
import { probeService, serviceVerdict, type ServiceKind } from './helpers/service-probe';

/** The one mechanism that decides whether the MySQL and Redis suites run, fail or skip. */

describe('serviceVerdict', () => {
  it('runs the suite when the probe found no problem, required or not', () => {
    expect(serviceVerdict(undefined, 'REQUIRE_MYSQL', {})).toEqual({ action: 'run' });
    expect(serviceVerdict(undefined, 'REQUIRE_REDIS', { REQUIRE_REDIS: '1' })).toEqual({ action: 'run' });
  });

  it('fails the suite with the problem when its variable is 1', () => {
    expect(
      serviceVerdict('Redis at x is unusable: refused', 'REQUIRE_REDIS', { REQUIRE_REDIS: '1' }),
    ).toEqual({
      action: 'fail',
      reason: 'REQUIRE_REDIS=1 but Redis at x is unusable: refused',
    });
  });

  it.each([{}, { REQUIRE_MYSQL: '0' }, { REQUIRE_MYSQL: 'true' }, { REQUIRE_REDIS: '1' }])(
    'skips the suite, saying how to fail instead, when REQUIRE_MYSQL is not 1 (%j)',
    (env) => {
      expect(serviceVerdict('MySQL at y is unreachable: refused', 'REQUIRE_MYSQL', env)).toEqual({
        action: 'skip',
        reason: 'MySQL at y is unreachable: refused; set REQUIRE_MYSQL=1 to fail instead',
      });
    },
  );
});

describe('probeService', () => {
  it.each<[ServiceKind, string]>([
    ['mysql', 'mysql://root@127.0.0.1:PORT/test'],
    ['redis', 'redis://127.0.0.1:PORT'],
  ])('reports the %s client error for a port nobody listens on', async (kind, template) => {
    const port = await freePort();
    const problem = probeService(kind, template.replace('PORT', String(port)));
    expect(problem).toMatch(/ECONNREFUSED|connect|refused/i);
    expect(problem!.length).toBeLessThanOrEqual(300);
  });
});
