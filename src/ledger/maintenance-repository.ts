import { sql } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';

/**
 * Expires every due lot of up to ~batchSize lots' member wallets in one statement: lots, entries,
 * cached balances, counters and events together. Member wallets locked by a running operation are
 * skipped (SKIP LOCKED) and picked up by the next batch, so expiry never blocks checkouts.
 */
export async function expireDueLotsBatch(trx: Tx, options: { programId?: string; now: Date; batchSize: number }) {
  const programFilter = options.programId ? sql`and l.program_id = ${options.programId}` : sql``;
  const { rows } = await sql<{ lots: number; points: number; members: number }>`
    with candidates as (
      select distinct l.member_id, l.wallet_id from (
        select member_id, wallet_id from lots l
        where l.remaining > 0 and l.expires_at <= ${options.now} ${programFilter}
        limit ${options.batchSize}
      ) l
    ),
    picked as (
      select mw.id, mw.member_id, mw.wallet_id, mw.available_account_id, mw.pending_account_id
      from member_wallets mw join candidates c on c.member_id = mw.member_id and c.wallet_id = mw.wallet_id
      for update of mw skip locked
    ),
    due as (
      select l.id, l.program_id, l.wallet_id, l.member_id, l.remaining, l.vested,
             p.id as mw_id, case when l.vested then p.available_account_id else p.pending_account_id end as from_account
      from lots l join picked p on p.member_id = l.member_id and p.wallet_id = l.wallet_id
      where l.remaining > 0 and l.expires_at <= ${options.now}
      for update of l
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
    select count(*)::int as lots, coalesce(sum(remaining), 0)::bigint as points, count(distinct mw_id)::int as members from due`.execute(trx);
  return rows[0] ?? { lots: 0, points: 0, members: 0 };
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
