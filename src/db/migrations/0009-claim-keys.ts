import { sql, type Kysely } from 'kysely';

/**
 * Takes the advisory lock of each Idempotency-Key that is free and returns, for each key it took,
 * the answer stored under it (nulls when there is none). One round trip instead of two.
 *
 * Why a function and not one SELECT: the stored answer must be read by a statement that starts
 * after the lock is held, or an answer its previous holder committed in between is missed and
 * the request acts twice. A plain SELECT reads with the snapshot taken when it starts, before its
 * own lock calls run; a VOLATILE PL/pgSQL function under READ COMMITTED takes a fresh snapshot
 * for each statement inside it, so its read starts after its locks.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
create function laurel_claim_keys(program uuid, keys text[])
returns table (key text, request_hash text, response_status integer, response_body jsonb)
language plpgsql volatile as $$
declare
  taken text[];
begin
  select coalesce(array_agg(k.key), '{}') into taken from unnest(keys) as k(key)
  where pg_try_advisory_xact_lock(hashtextextended(program::text || ':' || k.key, 0));
  return query
    select t.key, i.request_hash, i.response_status, i.response_body
    from unnest(taken) as t(key)
    left join idempotency_keys i on i.program_id = program and i.key = t.key;
end $$`).execute(db);
}
