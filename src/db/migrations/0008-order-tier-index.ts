import { sql, type Kysely } from 'kysely';

/**
 * An order's tier activity is recorded under sources `<order uuid>#<n>`, and every order event
 * reads what its order contributed so far. That read was `source_id like '<uuid>#%'`, which no
 * index serves (a pattern parameter, and a collation that is not C), so it scanned every order
 * source of the program: each order event cost more than the one before. This index finds an
 * order's sources directly.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`create index tier_metric_events_order on tier_metric_events (program_id, split_part(source_id, '#', 1)) where source_type = 'order'`).execute(db);
}
