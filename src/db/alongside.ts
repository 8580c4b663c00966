import { sql, type OperationNodeSource } from 'kysely';

/**
 * Inserts sent as CTEs of another write's statement, "alongside" it: one round trip for all. Each
 * insert returns a row per row it inserts. `ctes` opens the caller's WITH list (each followed by a
 * comma), and `counts` is an int[] of how many rows each inserted, in order, for the caller to
 * select with its own rows and check.
 */
export function alongside(inserts: OperationNodeSource[]) {
  const name = (i: number) => sql.raw(`alongside_${i}`);
  return {
    ctes: sql.join(inserts.map((insert, i) => sql`${name(i)} as (${insert}),`), sql` `),
    counts: inserts.length > 0 ? sql`array[${sql.join(inserts.map((_, i) => sql`(select count(*) from ${name(i)})::int`))}]` : sql`array[]::int[]`,
  };
}
