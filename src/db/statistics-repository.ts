import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { DB } from './schema.ts';

/**
 * Refreshes the planner's statistics of `tables` after a bulk write of `rows` rows, when those are
 * many beside what `reference` held before it: autovacuum's own threshold (50 rows and 10 % of the
 * table), applied at once instead of at its next visit, which can be minutes away.
 *
 * Why at once: Laurel's group reads and writes run inside functions and prepared statements whose
 * plans are cached per connection. Planned on empty statistics — a new program's first import —
 * the balance read cost 600 µs of PostgreSQL's CPU instead of 45 and served 2,300 reads/s instead
 * of 8,900, for as long as the statistics stayed empty (no autovacuum visit in 70 s of that load;
 * docs/benchmarks.md). PostgreSQL plans those statements again once the statistics change.
 *
 * `reference`'s size is its estimate as of its last ANALYZE or VACUUM (never analyzed: 0), so the
 * rows are weighed against the table before the write. Returns whether it analyzed. A failure
 * (the role does not own the tables) is ignored: statistics are a matter of speed, autovacuum
 * will refresh them in any case, and the write they follow has committed.
 */
export async function refreshStatisticsAfterBulkWrite(db: Db, bulk: { reference: keyof DB; tables: Array<keyof DB>; rows: number }): Promise<boolean> {
  const { rows } = await sql<{ tuples: number }>`
    select greatest(reltuples, 0)::float8 as tuples from pg_class where oid = to_regclass(${bulk.reference})`.execute(db);
  if (bulk.rows < 50 + 0.1 * (rows[0]?.tuples ?? 0)) return false;
  try {
    await sql`analyze ${sql.join(bulk.tables.map((t) => sql.table(t)))}`.execute(db);
    return true;
  } catch {
    return false;
  }
}
