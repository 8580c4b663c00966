import { sql, type Kysely } from 'kysely';

/**
 * Whether a member has points due to vest was answered through lots_due_vesting, the index of
 * every unvested lot by vesting time: to find one member's due lots PostgreSQL walked every lot
 * of the database that was due and not yet vested, and filtered on the member. That set is small
 * while the maintenance job keeps up, and grows with every minute it does not (a stopped worker,
 * a bulk import with pending dates): with 5,000 such lots of other members, a balance read cost
 * 444 µs a member instead of 36 (bench/ scratch run), and the same check runs in every balance
 * read (laurel_balance_snapshots), every wallet lock (laurel_lock_member_wallets) and every
 * settle-before-read. This index finds a member's own unvested lots directly. It holds pending
 * lots only, so an earn that vests at once writes nothing to it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index lots_member_vesting on lots (member_id, wallet_id, vests_at) where not vested`.execute(db);
}
