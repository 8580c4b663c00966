import { sql } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';

/**
 * Expires the due lots of up to ~batchSize lots' member wallets in one statement: lots, entries,
 * cached balances, counters and events together.
 *
 * The due lots are walked soonest-due first through lots_due_expiry, and each one's member wallet
 * is locked as it is reached (FOR UPDATE SKIP LOCKED): a wallet held by a running operation — or
 * by another maintenance batch — is stepped over and the walk goes on, so expiry never waits for
 * a checkout, concurrent batches take disjoint members, and a batch stops only when batchSize
 * lots are taken or nothing due is left unlocked. Skipped members are picked up by a later batch
 * or settled by their own operation. Only then are those wallets' lots locked and read: locking
 * returns their latest committed version, never the statement's possibly older snapshot.
 *
 * Every lookup is a nested loop over a unique or partial index, whatever the statistics say:
 * between two ANALYZEs the planner takes a batch for a large share of the table and otherwise
 * joins it by scanning lots, accounts or member_wallets whole — per batch, which makes a
 * million-lot run quadratic. Nor a bitmap scan of the due index: its rows come out of heap order,
 * so the walk sorted every due lot of the program each batch to take the first few thousand.
 */
export async function expireDueLotsBatch(trx: Tx, options: { programId?: string; now: Date; batchSize: number }) {
  const programFilter = options.programId ? sql`and l.program_id = ${options.programId}` : sql``;
  await sql`select set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`.execute(trx);
  const { rows } = await sql<{ taken: number; lots: number; points: number; members: number; lots_updated: number; entries: number; balances: number; counters: number }>`
    with taken as materialized (
      select w.id, w.member_id, w.wallet_id, w.available_account_id, w.pending_account_id
      from (
        select l.member_id, l.wallet_id from lots l
        where l.remaining > 0 and l.expires_at <= ${options.now} ${programFilter}
        order by l.expires_at
      ) l
      cross join lateral (
        select mw.id, mw.member_id, mw.wallet_id, mw.available_account_id, mw.pending_account_id
        from member_wallets mw where mw.member_id = l.member_id and mw.wallet_id = l.wallet_id
        for update skip locked
      ) w
      limit ${options.batchSize}
    ),
    due as materialized (
      select l.id, l.program_id, l.wallet_id, l.member_id, l.remaining, l.vested,
             p.id as mw_id, case when l.vested then p.available_account_id else p.pending_account_id end as from_account
      from (select distinct * from taken) p
      cross join lateral (
        select l.id, l.program_id, l.wallet_id, l.member_id, l.remaining, l.vested from lots l
        where l.member_id = p.member_id and l.wallet_id = p.wallet_id and l.remaining > 0 and l.expires_at <= ${options.now}
        for update
      ) l
    ),
    lot_update as (
      update lots set remaining = 0 from due where lots.id = due.id returning lots.id
    ),
    entry_insert as (
      insert into entries (program_id, wallet_id, member_id, operation_id, kind, amount, debit_account_id, credit_account_id, lot_id, lot_delta, created_at)
      select d.program_id, d.wallet_id, d.member_id, null, 'expire', d.remaining, d.from_account, x.id, d.id, -d.remaining, ${options.now}
      from due d join accounts x on x.wallet_id = d.wallet_id and x.member_id is null and x.kind = 'expired'
      returning id
    ),
    balance_update as (
      update accounts a set balance = a.balance - s.total
      from (select from_account, sum(remaining) as total from due group by from_account) s
      where a.id = s.from_account
      returning a.id
    ),
    counter_update as (
      update member_wallets m set expired = m.expired + s.total
      from (select mw_id, sum(remaining) as total from due group by mw_id) s
      where m.id = s.mw_id
      returning m.id
    ),
    event_insert as (
      insert into events (program_id, type, member_id, payload)
      select d.program_id, 'points.expired', d.member_id,
             jsonb_build_object('memberId', d.member_id, 'wallet', w.code, 'amount', sum(d.remaining), 'lotCount', count(*))
      from due d join wallets w on w.id = d.wallet_id
      group by d.program_id, d.member_id, w.code
      returning id
    )
    select (select count(*) from taken)::int as taken, count(*)::int as lots, coalesce(sum(remaining), 0)::bigint as points, count(distinct mw_id)::int as members,
           (select count(*) from lot_update)::int as lots_updated, (select count(*) from entry_insert)::int as entries,
           (select count(*) from balance_update)::int as balances, (select count(*) from counter_update)::int as counters
    from due`.execute(trx);
  return rows[0] ?? { taken: 0, lots: 0, points: 0, members: 0, lots_updated: 0, entries: 0, balances: 0, counters: 0 };
}

/** Members with pending points due to vest or reservations past their timeout. */
export async function membersWithDueSettlement(db: Executor, options: { programId?: string; now: Date; limit: number }) {
  const programFilter = options.programId ? sql`and program_id = ${options.programId}` : sql``;
  const { rows } = await sql<{ member_id: string; program_id: string }>`
    select member_id, program_id from (
      (select member_id, program_id from lots where not vested and vests_at <= ${options.now} ${programFilter} limit ${options.limit})
      union
      (select member_id, program_id from reservations where status = 'pending' and expires_at <= ${options.now} ${programFilter} limit ${options.limit})
    ) due limit ${options.limit}`.execute(db);
  return rows;
}
