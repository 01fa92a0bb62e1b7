import { isDatabaseUrl, maskUrl, providerOf } from '../src/db/database-url';
import { dialectFor } from '../src/db/dialects';

/** The one place that reads a DATABASE_URL: which URLs are accepted and which database each names. */
describe('database URLs', () => {
  test.each([
    ['file:./data/relay.db', 'sqlite'],
    ['file::memory:', 'sqlite'],
    ['file:/tmp/a b.db', 'sqlite'],
    ['mysql://root@127.0.0.1:3306/relay', 'mysql'],
    ['mysql://u:p%40ss@db/relay', 'mysql'],
    ['mariadb://u@db/relay', 'mysql'],
  ] as const)('%s is %s', (url, provider) => {
    expect(isDatabaseUrl(url)).toBe(true);
    expect(providerOf(url)).toBe(provider);
    expect(dialectFor(url).provider).toBe(provider);
  });

  test.each([
    'postgres://u@db/relay',
    'mysql:/db',
    'MYSQL://u@db/relay',
    'sqlite:./relay.db',
    './relay.db',
    ' file:./relay.db',
    '',
  ])('%j is refused', (url) => {
    expect(isDatabaseUrl(url)).toBe(false);
    expect(() => providerOf(url)).toThrow(/not a database URL/);
    expect(() => dialectFor(url)).toThrow(/not a database URL/);
  });

  test('the refusal message masks a password', () => {
    expect(() => providerOf('postgres://admin:hunter2@db/x')).toThrow('postgres://admin:***@db/x');
  });

  test.each([
    ['mysql://root:secret@h:3306/db', 'mysql://root:***@h:3306/db'],
    ['mysql://root:p@ss:w@h/db', 'mysql://root:***@h/db'],
    ['mysql://a@b:pw@h/db', 'mysql://a@b:***@h/db'],
    ['mysql://root:@h/db', 'mysql://root:***@h/db'],
    ['mariadb://u:p%40x@h/db', 'mariadb://u:***@h/db'],
    ['mysql://root@h/db', 'mysql://root@h/db'],
    ['mysql://h/db?note=a:b@c', 'mysql://h/db?note=a:b@c'],
    ['file:./data/relay.db', 'file:./data/relay.db'],
  ])('maskUrl(%s) is %s, with user and host as URL parsing reads them', (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
    if (url.startsWith('file:')) return;
    const [before, after] = [new URL(url), new URL(masked)];
    expect([after.username, after.host, after.pathname, after.search]).toEqual([
      before.username,
      before.host,
      before.pathname,
      before.search,
    ]);
    expect(after.password).toBe(masked.includes(':***@') ? '***' : '');
    if (before.password) expect(after.password).toBe('***');
  });
});
