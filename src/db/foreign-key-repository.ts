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
 *
 * For bulk writes only: changing session_replication_role resets the session's plan cache (here
 * and again at the transaction's end), so every prepared statement of the connection is planned
 * anew. A batch of thousands of rows does not notice; a request-path batch of a few statements
 * pays more for it than for the checks (docs/benchmarks.md, "Where PostgreSQL's CPU goes").
 */
export async function skipForeignKeyChecks(
  trx: Tx,
  writes: { inserts: string[]; updates: string[]; firedByCaller?: string[] },
): Promise<boolean> {
  // One statement: set_config runs only when no such trigger exists and the role may set the
  // parameter (a superuser, or a grant: has_parameter_privilege, PostgreSQL 15+), so it never
  // fails and needs no savepoint.
  const { rows } = await sql<{ relaxed: boolean }>`
    select case
      when exists (
        select 1 from pg_trigger t join pg_class c on c.oid = t.tgrelid
        where not t.tgisinternal and t.tgenabled <> 'D' and c.relnamespace = to_regnamespace(current_schema())
          and not (t.tgname = any(${writes.firedByCaller ?? []}::text[]))
          and ((c.relname = any(${writes.inserts}::text[]) and t.tgtype & 4 <> 0)
            or (c.relname = any(${writes.updates}::text[]) and t.tgtype & 16 <> 0))) then false
      when (select rolsuper from pg_roles where rolname = current_user) or has_parameter_privilege('session_replication_role', 'SET')
        then set_config('session_replication_role', 'replica', true) = 'replica'
      else false
    end as relaxed`.execute(trx);
  return rows[0]!.relaxed;
}

export async function restoreForeignKeyChecks(trx: Tx) {
  await sql`set local session_replication_role = origin`.execute(trx);
}
