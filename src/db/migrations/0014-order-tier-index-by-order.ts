import { sql, type Kysely } from 'kysely';

/**
 * An order's tier activity sources (`<order uuid>#<n>`) were found through an index led by the
 * program (0008). The unique index (program_id, metric, source_type, source_id) is led by the
 * program too, so a lookup by program and order could be served by either, and on a table whose
 * statistics were behind its growth the planner took the unique one: it walked every order source
 * of the program (2,600 rows, 1.2 ms, for each order of a batch). Order ids are unique across
 * programs, so the index needs only the order part of the source: a lookup that names no program
 * can be served by this index alone. Callers name an order of their own program, locked.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index tier_metric_events_by_order on tier_metric_events (split_part(source_id, '#', 1)) where source_type = 'order'`.execute(db);
  await sql`drop index tier_metric_events_order`.execute(db);
}
