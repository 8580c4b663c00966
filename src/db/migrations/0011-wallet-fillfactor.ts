import { sql, type Kysely } from 'kysely';

/**
 * Member balances (accounts) and member wallet counters are updated by nearly every ledger
 * operation, and no index covers the columns those updates change, so each update could be a
 * heap-only tuple (HOT) update: the new row version on the same page, no index touched. That
 * needs free room on the page, and tables filled by inserts leave none (fillfactor 100): then
 * every update writes a new entry into each of the table's indexes, at a random place for the
 * uuid-keyed ones. Room is reserved where the updates land: a wallet row is updated by every
 * operation on its member; of a member's three accounts, usually one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
alter table member_wallets set (fillfactor = 50);
alter table accounts set (fillfactor = 70);
`).execute(db);
}
