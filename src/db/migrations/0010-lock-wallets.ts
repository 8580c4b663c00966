import { sql, type Kysely } from 'kysely';

/**
 * Locks the member wallets of (member, wallet code) pairs in id order and returns each one's
 * terms, balances and whether anything is due by `p_now`. One round trip instead of two.
 *
 * Why a function and not one SELECT: the balances must be read by a statement that starts after
 * the lock is held. A SELECT … FOR UPDATE that waited for the lock returns the locked row's
 * latest version, but reads every other table (the accounts with the balances) as of its own
 * start, before the previous holder committed. A VOLATILE PL/pgSQL function under READ COMMITTED
 * takes a fresh snapshot for each statement inside it, so its read starts after its locks.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
create function laurel_lock_member_wallets(p_program uuid, p_members uuid[], p_codes text[], p_now timestamptz)
returns table (
  mw_id bigint, member_id uuid, status text, wallet_id uuid, code text, unit text, expiry_kind text, expiry_count integer, pending_days integer,
  program_id uuid, available_account_id bigint, pending_account_id bigint, reserved_account_id bigint, last_activity_at timestamptz,
  available bigint, pending bigint, reserved bigint, due boolean)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  locked bigint[];
begin
  select coalesce(array_agg(l.id), '{}') into locked from (
    select mw.id
    from (select distinct p.member_id, p.code from unnest(p_members, p_codes) as p(member_id, code)) as p
    join members m on m.program_id = p_program and m.id = p.member_id
    join wallets w on w.program_id = m.program_id and w.code = p.code
    join member_wallets mw on mw.member_id = m.id and mw.wallet_id = w.id
    order by mw.id
    for update of mw
  ) l;
  return query
    select mw.id, mw.member_id, m.status, w.id, w.code, w.unit, w.expiry_kind, w.expiry_count, w.pending_days,
           mw.program_id, mw.available_account_id, mw.pending_account_id, mw.reserved_account_id, mw.last_activity_at,
           a.balance, pa.balance, r.balance,
           exists (select 1 from lots l where l.member_id = mw.member_id and l.wallet_id = mw.wallet_id and not l.vested and l.vests_at <= p_now)
           or exists (select 1 from reservations x where x.member_id = mw.member_id and x.wallet_id = mw.wallet_id and x.status = 'pending' and x.expires_at <= p_now)
           or exists (select 1 from lots l where l.member_id = mw.member_id and l.wallet_id = mw.wallet_id and l.remaining > 0 and l.expires_at <= p_now)
    from member_wallets mw
    join members m on m.id = mw.member_id
    join wallets w on w.id = mw.wallet_id
    join accounts a on a.id = mw.available_account_id
    join accounts pa on pa.id = mw.pending_account_id
    join accounts r on r.id = mw.reserved_account_id
    where mw.id = any(locked)
    order by mw.id;
end $$`).execute(db);
}
