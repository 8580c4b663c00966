import { sql, type Kysely } from 'kysely';

/**
 * Members' balances in every wallet, for many members in one round trip: the read that
 * concurrent balance requests share (docs/architecture.md, "Group reads").
 *
 * Why a function and not the same SELECT sent as a prepared statement: its plan depends on the
 * number of members. PostgreSQL estimates an array parameter's rows exactly in a custom plan and
 * as 10 in the generic one, so the generic plan always looked dearer, and the statement was
 * planned anew on every execution (0.9 ms, ten times the read itself); a fixed estimate (a jsonb
 * array of 100) made it hash-join a sequential scan of the members instead. Inside this function
 * the query always runs on its generic plan (`plan_cache_mode`, for the function's own queries
 * only), planned once per connection: index probes per member, whatever their number. A loop
 * that read each member with its own query cost 77 µs a member against 32 µs for this one set
 * (batches of 20; bench/ scratch runs, docs/benchmarks.md).
 *
 * STABLE: the function's query sees the snapshot of the statement that calls it, so the members
 * of one call are read at one instant, after every request of the batch arrived. A member's
 * `due` (something to vest, expire or time out by `p_at`, else the database clock) is read once,
 * not once per wallet row (`offset 0` keeps the planner from pulling the subquery up).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
create function laurel_balance_snapshots(p_program uuid, p_members uuid[], p_at timestamptz)
returns table (
  ordinal integer, found boolean, due boolean, wallet_id uuid, wallet_code text, unit text, has_wallet boolean,
  available bigint, pending bigint, reserved bigint, earned bigint, spent bigint, expired bigint, reversed bigint, restored bigint,
  adjusted_in bigint, adjusted_out bigint, transferred_in bigint, transferred_out bigint, last_activity_at timestamptz, next json)
language plpgsql stable set plan_cache_mode = force_generic_plan as $$
#variable_conflict use_column
begin
  return query
    select q.ordinal::integer, m.id is not null, coalesce(d.due, false),
      w.id, w.code, w.unit, mw.id is not null,
      a.balance, p.balance, r.balance,
      mw.earned, mw.spent, mw.expired, mw.reversed, mw.restored, mw.adjusted_in, mw.adjusted_out,
      mw.transferred_in, mw.transferred_out, mw.last_activity_at,
      case when mw.id is null then '[]'::json else coalesce((
        select json_agg(json_build_array(floor(extract(epoch from n.expires_at) * 1000)::bigint, n.amount) order by n.expires_at)
        from (
          select l.expires_at, sum(l.remaining)::bigint as amount from lots l
          where l.member_id = m.id and l.wallet_id = w.id and l.remaining > 0 and l.expires_at is not null
          group by l.expires_at order by l.expires_at limit 5
        ) n), '[]'::json) end
    from unnest(p_members) with ordinality as q(member_id, ordinal)
    left join members m on m.program_id = p_program and m.id = q.member_id
    left join lateral (
      select exists (select 1 from lots where lots.member_id = m.id and not lots.vested and lots.vests_at <= coalesce(p_at, now()))
        or exists (select 1 from lots where lots.member_id = m.id and lots.remaining > 0 and lots.expires_at <= coalesce(p_at, now()))
        or exists (select 1 from reservations x where x.member_id = m.id and x.status = 'pending' and x.expires_at <= coalesce(p_at, now()))
        as due
      offset 0
    ) d on m.id is not null
    left join wallets w on w.program_id = p_program and m.id is not null
    left join member_wallets mw on mw.member_id = m.id and mw.wallet_id = w.id
    left join accounts a on a.id = mw.available_account_id
    left join accounts p on p.id = mw.pending_account_id
    left join accounts r on r.id = mw.reserved_account_id
    order by q.ordinal, w.code = 'points' desc, w.created_at, w.code;
end $$`).execute(db);
}
