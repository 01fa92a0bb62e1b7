import type { SqlDriverAdapter, SqlDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';
import { logger } from '../logger';

export interface DbObserver {
  /** One SQL statement reached the driver; `verb` is its first keyword (SELECT, UPDATE, BEGIN...). */
  statement(verb: string): void;
  /** One Prisma operation finished (model "raw" for $queryRaw and friends). */
  query(model: string, operation: string, seconds: number, failed: boolean): void;
}

export const slowQueryLogger =
  (thresholdMs: number) =>
  (model: string, operation: string, seconds: number): void => {
    const ms = seconds * 1000;
    if (ms >= thresholdMs)
      logger.warn('slow db query', { model, operation, durationMs: Math.round(ms * 100) / 100 });
  };

/** The first keyword of a statement (SELECT, UPDATE, BEGIN...), its label in /metrics. */
export const verbOf = (sql: string) => /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? 'OTHER';

function wrapQueryable<T extends Pick<SqlDriverAdapter, 'queryRaw' | 'executeRaw'>>(
  target: T,
  observer: DbObserver,
): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (prop === 'queryRaw' || prop === 'executeRaw') {
        return (query: { sql: string }) => {
          observer.statement(verbOf(query.sql));
          return (value as (q: unknown) => Promise<unknown>).call(obj, query);
        };
      }
      if (prop === 'startTransaction') {
        return async (...args: unknown[]) => {
          // The adapters issue BEGIN themselves, outside queryRaw/executeRaw. Counted as requested,
          // so transactions that time out waiting for a pool connection show up too.
          observer.statement('BEGIN');
          const tx = await (value as (...a: unknown[]) => Promise<Transaction>).apply(obj, args);
          return wrapQueryable(tx, observer);
        };
      }
      return typeof value === 'function' ? value.bind(obj) : value;
    },
  });
}

/** Counts every statement the adapter sends, transactions included. */
export function instrumentAdapter<F extends SqlDriverAdapterFactory>(factory: F, observer: DbObserver): F {
  return new Proxy(factory, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (prop === 'connect') {
        return async () =>
          wrapQueryable(await (value as () => Promise<SqlDriverAdapter>).call(obj), observer);
      }
      return typeof value === 'function' ? value.bind(obj) : value;
    },
  });
}
