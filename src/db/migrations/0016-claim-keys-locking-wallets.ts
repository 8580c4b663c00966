import { sql, type Kysely } from 'kysely';

/**
 * laurel_claim_keys (0009) and laurel_lock_member_wallets (0010) in one statement, in that order:
 * a batch of earns claims its Idempotency-Keys and locks the member wallets it will write, and
 * reads their balances after the locks, in one round trip instead of two. Rows of kind 'key' are
 * the claim's (one per key taken), rows of kind 'wallet' the lock's; the wallets are locked only
 * when at least one key was taken (otherwise the batch has nothing to write).
 *
 * The batch may lock a few wallets it will not write (a request whose key turns out to be held
 * elsewhere, or replayed): they stay locked until its commit, in the same id order as every
 * wallet lock, so this adds waiting, never a new deadlock. PL/pgSQL, so that each step reads with
 * a snapshot taken after its own locks (0009 and 0010 say why).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
create function laurel_claim_keys_locking_wallets(p_program uuid, p_keys text[], p_members uuid[], p_codes text[], p_now timestamptz)
returns table (
  kind text, key text, request_hash text, response_status integer, response_body jsonb,
  mw_id bigint, member_id uuid, status text, wallet_id uuid, code text, unit text, expiry_kind text, expiry_count integer, pending_days integer,
  program_id uuid, available_account_id bigint, pending_account_id bigint, reserved_account_id bigint, last_activity_at timestamptz,
  available bigint, pending bigint, reserved bigint, due boolean)
language plpgsql volatile as $$
begin
  return query
    select 'key', c.key, c.request_hash, c.response_status, c.response_body,
      null::bigint, null::uuid, null::text, null::uuid, null::text, null::text, null::text, null::integer, null::integer,
      null::uuid, null::bigint, null::bigint, null::bigint, null::timestamptz, null::bigint, null::bigint, null::bigint, null::boolean
    from laurel_claim_keys(p_program, p_keys) c;
  if found then
    return query
      select 'wallet', null::text, null::text, null::integer, null::jsonb, w.*
      from laurel_lock_member_wallets(p_program, p_members, p_codes, p_now) w;
  end if;
end $$`).execute(db);
}
