import { sql, type Kysely } from 'kysely';

/**
 * How many orders a member placed before a given one (not cancelled; by placing time, then id):
 * the order number earning rules see ("first order", "every 5th"). One definition, for the single
 * path's count and for an order batch, which counts while it locks the members.
 *
 * Why a function: the count must see every order committed before the member's lock was granted,
 * or two concurrent orders of one member could both count as the first. An order batch locks its
 * members with SELECT … FOR UPDATE and counts in the same statement, calling this per locked row;
 * that statement's own snapshot was taken before the locks, but a VOLATILE PL/pgSQL function under
 * READ COMMITTED takes a fresh snapshot for each statement inside it (as laurel_claim_keys, 0009),
 * so each count starts after its member's lock. PL/pgSQL rather than SQL so that it is never
 * inlined into the caller's snapshot.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
create function laurel_earlier_orders(p_member uuid, p_order uuid, p_placed_at timestamptz)
returns integer
language plpgsql volatile as $$
begin
  return (
    select count(*) from orders o
    where o.member_id = p_member and o.id <> p_order and o.status <> 'cancelled' and (o.placed_at, o.id) < (p_placed_at, p_order));
end $$`).execute(db);
}
