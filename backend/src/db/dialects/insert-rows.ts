import type { InsertRows, Statement } from './dialect';

/** `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)`: both databases accept backtick-quoted names. */
export function insertRowsStatement({ table, columns, values }: InsertRows): Statement {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const rows = values.length / columns.length;
  return {
    sql:
      `INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES ` +
      Array.from({ length: rows }, () => tuple).join(', '),
    params: [...values],
  };
}
