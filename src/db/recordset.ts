import { sql, type RawBuilder } from 'kysely';

/**
 * Rows sent as one jsonb parameter and read back as a typed record set, for an INSERT … SELECT
 * of many rows: the statement's text is the same whatever the number of rows, so it is one
 * prepared statement for every batch size (a VALUES list of n rows is a new statement per n, each
 * planned anew). `columns` maps each column to its SQL type; the names and types are the
 * caller's constants, never input.
 */
export function recordset<C extends string>(rows: readonly { [K in C]: unknown }[], columns: { [K in C]: string }): RawBuilder<unknown> {
  const names = Object.keys(columns) as C[];
  // A plain loop rather than fromEntries of mapped pairs: a batch of orders sends thousands of cells.
  const values = rows.map((row) => {
    const picked: Record<string, unknown> = {};
    for (const n of names) picked[n] = row[n];
    return picked;
  });
  return sql`select ${sql.raw(names.join(', '))} from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as r(${sql.raw(names.map((n) => `${n} ${columns[n]}`).join(', '))})`;
}
