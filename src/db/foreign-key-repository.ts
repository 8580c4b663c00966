import { sql } from 'kysely';
import type { Tx } from './database.ts';

/**
 * Row-by-row foreign-key checks are most of the cost of a bulk write: PostgreSQL checks each
 * reference of each inserted row with a query of its own (an entry has seven). A bulk write whose
 * every reference is to a row it has just read, locked or created in the same transaction — rows
 * Laurel never deletes — may skip them, as pg_restore does, by running the rest of its
 * transaction with session_replication_role = replica. That also silences user triggers, so it is
 * done only when no user trigger of the written tables would fire, except those the caller names
 * in firedByCaller (and then does the triggers' work itself). And only when it is allowed (a
 * superuser, or GRANT SET ON PARAMETER session_replication_role): otherwise the checks stay on.
 * Returns whether they are off. SET LOCAL: the transaction's end restores them in any case.
 */
export async function skipForeignKeyChecks(
  trx: Tx,
  writes: { inserts: string[]; updates: string[]; firedByCaller?: string[] },
): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where not t.tgisinternal and t.tgenabled <> 'D' and c.relnamespace = to_regnamespace(current_schema())
      and not (t.tgname = any(${writes.firedByCaller ?? []}::text[]))
      and ((c.relname = any(${writes.inserts}::text[]) and t.tgtype & 4 <> 0)
        or (c.relname = any(${writes.updates}::text[]) and t.tgtype & 16 <> 0))`.execute(trx);
  if (rows[0]!.n > 0) return false;
  await sql`savepoint laurel_replica_role`.execute(trx);
  try {
    await sql`set local session_replication_role = replica`.execute(trx);
    await sql`release savepoint laurel_replica_role`.execute(trx);
    return true;
  } catch {
    await sql`rollback to savepoint laurel_replica_role`.execute(trx);
    return false;
  }
}

export async function restoreForeignKeyChecks(trx: Tx) {
  await sql`set local session_replication_role = origin`.execute(trx);
}
