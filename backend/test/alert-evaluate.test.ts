/**
 * AlertService.evaluate and the rule-changing calls on a recording fake database: which rules
 * fire (every operator on both sides of and at its threshold, device-specific rules, dotted
 * fields, values that are no number), what each fired alert carries, what is stored, and when
 * the other processes are told that rules changed. device-data.test.ts covers the same through
 * the relay on real databases; here each case is exact and takes milliseconds.
 */
import type { Db } from '../src/db/prisma';
import type { StatementRunner } from '../src/db/bulk/statement-runner';
import type { Statement } from '../src/db/dialects/dialect';
import {
  AlertService,
  readNumber,
  runnerAlertStore,
  type AlertRow,
  type StoreAlert,
} from '../src/services/alert.service';

interface FakeRule {
  id: number;
  endpointId: string;
  deviceId: string | null;
  field: string;
  operator: string;
  threshold: number;
  enabled: boolean;
}

function setup(rules: FakeRule[], opts: { storeFails?: boolean; deleted?: number } = {}) {
  const stored: AlertRow[] = [];
  const calls: { op: string; args: unknown }[] = [];
  const db = {
    alertRule: {
      findMany: async (args: unknown) => {
        calls.push({ op: 'findMany', args });
        return rules;
      },
      create: async (args: { data: Omit<FakeRule, 'id'> }) => {
        calls.push({ op: 'create', args });
        return { id: 99, ...args.data };
      },
      deleteMany: async (args: unknown) => {
        calls.push({ op: 'deleteMany', args });
        return { count: opts.deleted ?? 1 };
      },
    },
    alert: {
      findMany: async (args: unknown) => {
        calls.push({ op: 'alert.findMany', args });
        return [];
      },
    },
  } as unknown as Db;
  let nextId = 1;
  const store: StoreAlert = async (row) => {
    if (opts.storeFails) throw new Error('insert refused');
    stored.push(row);
    return { id: nextId++, createdAt: new Date(1_000 * nextId) };
  };
  const service = new AlertService(db, 0, store);
  const changed: string[] = [];
  service.onRulesChanged((id) => changed.push(id));
  return { service, stored, calls, changed };
}

const rule = (id: number, operator: string, threshold: number, extra: Partial<FakeRule> = {}): FakeRule => ({
  id,
  endpointId: 'ep',
  deviceId: null,
  field: 't',
  operator,
  threshold,
  enabled: true,
  ...extra,
});

describe('readNumber', () => {
  test.each<[unknown, string, number | undefined]>([
    [{ t: 21.5 }, 't', 21.5],
    [{ t: 0 }, 't', 0],
    [{ t: -3 }, 't', -3],
    [{ sensors: { temp: { c: 7 } } }, 'sensors.temp.c', 7],
    [{ sensors: { temp: 7 } }, 'sensors.temp.c', undefined],
    [{ sensors: null }, 'sensors.temp', undefined],
    [{ t: '21.5' }, 't', undefined],
    [{ t: true }, 't', undefined],
    [{ t: null }, 't', undefined],
    [{ t: [1] }, 't', undefined],
    [{ t: Number.POSITIVE_INFINITY }, 't', undefined],
    [{ t: Number.NaN }, 't', undefined],
    [{}, 't', undefined],
    [null, 't', undefined],
    [42, 't', undefined],
    ['text', 'length', undefined],
  ])('%j at %s -> %s', (data, field, expected) => {
    expect(readNumber(data, field)).toBe(expected);
  });
});

describe('AlertService.evaluate', () => {
  test.each<[string, number, boolean]>([
    ['>', 9, false],
    ['>', 10, false],
    ['>', 11, true],
    ['>=', 9, false],
    ['>=', 10, true],
    ['>=', 11, true],
    ['<', 9, true],
    ['<', 10, false],
    ['<', 11, false],
    ['<=', 9, true],
    ['<=', 10, true],
    ['<=', 11, false],
    ['==', 9, false],
    ['==', 10, true],
    ['==', 11, false],
    ['!=', 9, true],
    ['!=', 10, false],
    ['!=', 11, true],
  ])('t %s 10 with t = %i fires: %s', async (operator, value, fires) => {
    const t = setup([rule(1, operator, 10)]);
    const fired = await t.service.evaluate('ep', 'd1', { t: value });
    expect(fired.length).toBe(fires ? 1 : 0);
    expect(t.stored.length).toBe(fires ? 1 : 0);
  });

  test('a fired alert carries the rule, the reading and what the store returned; only that is stored', async () => {
    const t = setup([rule(7, '>', 10, { field: 'a.b' })]);
    const fired = await t.service.evaluate('ep', 'd1', { a: { b: 12.5 } });
    expect(t.stored).toEqual([{ ruleId: 7, endpointId: 'ep', deviceId: 'd1', value: 12.5 }]);
    expect(fired).toEqual([
      {
        id: 1,
        ruleId: 7,
        endpointId: 'ep',
        deviceId: 'd1',
        field: 'a.b',
        operator: '>',
        threshold: 10,
        value: 12.5,
        createdAt: new Date(2_000),
      },
    ]);
    expect(t.calls[0]).toEqual({ op: 'findMany', args: { where: { endpointId: 'ep', enabled: true } } });
  });

  test('a rule for one device ignores the others; a rule for none applies to all', async () => {
    const t = setup([rule(1, '>', 0, { deviceId: 'd1' }), rule(2, '>', 0)]);
    expect((await t.service.evaluate('ep', 'd1', { t: 1 })).map((a) => a.ruleId)).toEqual([1, 2]);
    expect((await t.service.evaluate('ep', 'd2', { t: 1 })).map((a) => a.ruleId)).toEqual([2]);
  });

  test('a reading without the field, or with a non-number there, fires nothing', async () => {
    const t = setup([rule(1, '!=', 0)]);
    expect(await t.service.evaluate('ep', 'd1', { other: 5 })).toEqual([]);
    expect(await t.service.evaluate('ep', 'd1', { t: 'hot' })).toEqual([]);
    expect(t.stored).toEqual([]);
  });

  test('a stored rule with an operator the service does not know fires nothing', async () => {
    const t = setup([rule(1, '~=', 0), rule(2, '>', 0)]);
    expect((await t.service.evaluate('ep', 'd1', { t: 5 })).map((a) => a.ruleId)).toEqual([2]);
  });

  test('every rule that matches fires, in the order read', async () => {
    const t = setup([rule(3, '>', 0), rule(1, '<', 100), rule(2, '==', 5)]);
    expect((await t.service.evaluate('ep', 'd1', { t: 5 })).map((a) => a.ruleId)).toEqual([3, 1, 2]);
  });

  test('a store that fails rejects the evaluation with its error', async () => {
    const t = setup([rule(1, '>', 0)], { storeFails: true });
    await expect(t.service.evaluate('ep', 'd1', { t: 5 })).rejects.toThrow('insert refused');
  });
});

describe('AlertService rule changes', () => {
  test('createRule stores the rule with defaults (any device, enabled) and tells the others', async () => {
    const t = setup([]);
    const created = await t.service.createRule('ep', { field: 't', operator: '>', threshold: 3 });
    expect(t.calls).toEqual([
      {
        op: 'create',
        args: {
          data: { endpointId: 'ep', deviceId: null, field: 't', operator: '>', threshold: 3, enabled: true },
        },
      },
    ]);
    expect(created.id).toBe(99);
    expect(t.changed).toEqual(['ep']);
  });

  test('createRule keeps an explicit device and enabled: false', async () => {
    const t = setup([]);
    await t.service.createRule('ep', {
      field: 't',
      operator: '<',
      threshold: 1,
      deviceId: 'd9',
      enabled: false,
    });
    expect((t.calls[0].args as { data: FakeRule }).data).toMatchObject({ deviceId: 'd9', enabled: false });
  });

  test('deleteRule deletes only within the endpoint and tells the others only when a rule went', async () => {
    const gone = setup([], { deleted: 1 });
    expect(await gone.service.deleteRule('ep', 5)).toBe(true);
    expect(gone.calls).toEqual([{ op: 'deleteMany', args: { where: { id: 5, endpointId: 'ep' } } }]);
    expect(gone.changed).toEqual(['ep']);
    const none = setup([], { deleted: 0 });
    expect(await none.service.deleteRule('ep', 5)).toBe(false);
    expect(none.changed).toEqual([]);
  });
});

describe('AlertService reads and the runner alert store', () => {
  test('listRules asks for every rule of the endpoint, enabled or not, in id order', async () => {
    const t = setup([rule(1, '>', 1)]);
    await t.service.listRules('ep');
    // without orderBy the order is whatever the database's plan gives; the API promises id order
    expect(t.calls).toEqual([
      { op: 'findMany', args: { where: { endpointId: 'ep' }, orderBy: { id: 'asc' } } },
    ]);
  });

  test('listAlerts asks for the newest alerts first, ties by the newest key, at most `limit`', async () => {
    const t = setup([]);
    await t.service.listAlerts('ep', 7);
    // createdAt decides (an alert's key order need not be its time order); the key only breaks
    // ties, so two pages of equal times come back in one order on every database.
    expect(t.calls).toEqual([
      {
        op: 'alert.findMany',
        args: { where: { endpointId: 'ep' }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 7 },
      },
    ]);
  });

  test('runnerAlertStore refuses a statement runner that does not report insert ids', () => {
    const runner: StatementRunner = {
      insertIds: false,
      run: async () => ({ changes: 1 }),
      close: async () => undefined,
    };
    expect(() => runnerAlertStore(runner, 'sqlite')).toThrow(
      'runnerAlertStore needs a statement runner that reports insert ids',
    );
  });

  test("runnerAlertStore: one INSERT of the alert's columns, the key from the driver; no key is an error", async () => {
    const statements: Statement[] = [];
    const runner = (insertId: number | undefined): StatementRunner => ({
      insertIds: true,
      run: async (statement) => {
        statements.push(statement);
        return { changes: 1, insertId };
      },
      close: async () => undefined,
    });
    const row = { ruleId: 3, endpointId: 'ep', deviceId: 'd1', value: 42 };
    const stored = await runnerAlertStore(runner(17), 'sqlite')(row);
    expect(stored.id).toBe(17);
    expect(statements[0].sql).toBe(
      'INSERT INTO `Alert` (`ruleId`, `endpointId`, `deviceId`, `value`, `createdAt`) VALUES (?, ?, ?, ?, ?)',
    );
    expect(statements[0].params).toEqual([3, 'ep', 'd1', 42, stored.createdAt]);
    await expect(runnerAlertStore(runner(undefined), 'sqlite')(row)).rejects.toThrow(
      'the database reported no key for the alert',
    );
  });
});
