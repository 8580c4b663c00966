import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';

type Row = Record<string, unknown>;

async function rows(db: Executor, query: ReturnType<typeof sql<Row>>): Promise<Row[]> {
  return (await query.execute(db)).rows;
}

export const checks: { name: string; description: string; query: (programId: string) => ReturnType<typeof sql<Row>> }[] = [
  {
    name: 'balances_match_entries',
    description: 'Every member account’s cached balance equals its credits minus its debits',
    query: (p) => sql<Row>`
      with flows as (
        select credit_account_id as account_id, amount from entries where program_id = ${p}
        union all
        select debit_account_id, -amount from entries where program_id = ${p}
      ), sums as (select account_id, sum(amount) as total from flows group by account_id)
      select a.id as "accountId", a.member_id as "memberId", a.kind, a.balance as cached, coalesce(s.total, 0)::bigint as computed
      from accounts a left join sums s on s.account_id = a.id
      where a.program_id = ${p} and a.member_id is not null and a.balance <> coalesce(s.total, 0)
      limit 100`,
  },
  {
    name: 'program_sums_to_zero',
    description: 'The sum over all of the program’s accounts (cached member balances and program accounts from entries) is zero',
    query: (p) => sql<Row>`
      with member_side as (select coalesce(sum(balance), 0) as total from accounts where program_id = ${p} and member_id is not null),
      program_side as (
        select coalesce(sum(case when ca.member_id is null then e.amount else 0 end), 0)
             - coalesce(sum(case when da.member_id is null then e.amount else 0 end), 0) as total
        from entries e join accounts ca on ca.id = e.credit_account_id join accounts da on da.id = e.debit_account_id
        where e.program_id = ${p}
      )
      select m.total::bigint as "memberSide", g.total::bigint as "programSide" from member_side m, program_side g
      where m.total + g.total <> 0`,
  },
  {
    name: 'lots_match_entries',
    description: 'Every lot’s remaining equals the sum of its entries’ lot deltas, within 0 … amount',
    query: (p) => sql<Row>`
      select l.id as "lotId", l.member_id as "memberId", l.amount, l.remaining, coalesce(s.total, 0)::bigint as computed
      from lots l left join (select lot_id, sum(lot_delta) as total from entries where program_id = ${p} and lot_id is not null group by lot_id) s on s.lot_id = l.id
      where l.program_id = ${p} and (l.remaining <> coalesce(s.total, 0) or l.remaining < 0 or l.remaining > l.amount)
      limit 100`,
  },
  {
    name: 'buckets_match_lots',
    description: 'Pending = unvested lots; max(available, 0) = vested lots; reserved = pending reservations',
    query: (p) => sql<Row>`
      select mw.member_id as "memberId", mw.wallet_id as "walletId",
             a.balance as available, pe.balance as pending, r.balance as reserved,
             coalesce(v.total, 0)::bigint as "vestedLots", coalesce(u.total, 0)::bigint as "unvestedLots", coalesce(h.total, 0)::bigint as "openReservations"
      from member_wallets mw
      join accounts a on a.id = mw.available_account_id
      join accounts pe on pe.id = mw.pending_account_id
      join accounts r on r.id = mw.reserved_account_id
      left join (select member_id, wallet_id, sum(remaining) total from lots where program_id = ${p} and vested group by 1, 2) v on v.member_id = mw.member_id and v.wallet_id = mw.wallet_id
      left join (select member_id, wallet_id, sum(remaining) total from lots where program_id = ${p} and not vested group by 1, 2) u on u.member_id = mw.member_id and u.wallet_id = mw.wallet_id
      left join (select member_id, wallet_id, sum(amount) total from reservations where program_id = ${p} and status = 'pending' group by 1, 2) h on h.member_id = mw.member_id and h.wallet_id = mw.wallet_id
      where mw.program_id = ${p}
        and (greatest(a.balance, 0) <> coalesce(v.total, 0) or pe.balance <> coalesce(u.total, 0) or r.balance <> coalesce(h.total, 0))
      limit 100`,
  },
  {
    name: 'counters_match_entries',
    description: 'Lifetime earned, spent, expired, reversed, restored, adjusted and transferred equal the sums of their entries',
    query: (p) => sql<Row>`
      with sums as (
        select e.member_id, e.wallet_id,
          sum(case when e.kind = 'earn' then e.amount else 0 end) as earned,
          sum(case when e.kind in ('spend', 'post') then e.amount else 0 end) as spent,
          sum(case when e.kind = 'expire' then e.amount else 0 end) as expired,
          sum(case when e.kind = 'reverse' then e.amount else 0 end) as reversed,
          sum(case when e.kind = 'restore' then e.amount else 0 end) as restored,
          sum(case when e.kind = 'adjust' and c.member_id is not null then e.amount else 0 end) as adjusted_in,
          sum(case when e.kind = 'adjust' and d.member_id is not null then e.amount else 0 end) as adjusted_out,
          sum(case when e.kind = 'transfer' and c.member_id is not null then e.amount else 0 end) as transferred_in,
          sum(case when e.kind = 'transfer' and d.member_id is not null then e.amount else 0 end) as transferred_out
        from entries e
        join accounts c on c.id = e.credit_account_id
        join accounts d on d.id = e.debit_account_id
        where e.program_id = ${p} and e.member_id is not null group by 1, 2
      )
      select mw.member_id as "memberId", mw.wallet_id as "walletId",
             mw.earned, s.earned as "entriesEarned", mw.spent, s.spent as "entriesSpent",
             mw.expired, s.expired as "entriesExpired", mw.reversed, s.reversed as "entriesReversed", mw.restored, s.restored as "entriesRestored",
             mw.adjusted_in as "adjustedIn", s.adjusted_in as "entriesAdjustedIn", mw.adjusted_out as "adjustedOut", s.adjusted_out as "entriesAdjustedOut",
             mw.transferred_in as "transferredIn", s.transferred_in as "entriesTransferredIn", mw.transferred_out as "transferredOut", s.transferred_out as "entriesTransferredOut"
      from member_wallets mw left join sums s on s.member_id = mw.member_id and s.wallet_id = mw.wallet_id
      where mw.program_id = ${p} and (mw.earned <> coalesce(s.earned, 0) or mw.spent <> coalesce(s.spent, 0)
        or mw.expired <> coalesce(s.expired, 0) or mw.reversed <> coalesce(s.reversed, 0) or mw.restored <> coalesce(s.restored, 0)
        or mw.adjusted_in <> coalesce(s.adjusted_in, 0) or mw.adjusted_out <> coalesce(s.adjusted_out, 0)
        or mw.transferred_in <> coalesce(s.transferred_in, 0) or mw.transferred_out <> coalesce(s.transferred_out, 0))
      limit 100`,
  },
  {
    name: 'transfers_clear',
    description: 'The transfers clearing account of every wallet nets to zero',
    query: (p) => sql<Row>`
      select a.wallet_id as "walletId",
        (coalesce((select sum(amount) from entries where credit_account_id = a.id), 0)
         - coalesce((select sum(amount) from entries where debit_account_id = a.id), 0))::bigint as balance
      from accounts a where a.program_id = ${p} and a.kind = 'transfers'
        and coalesce((select sum(amount) from entries where credit_account_id = a.id), 0)
         <> coalesce((select sum(amount) from entries where debit_account_id = a.id), 0)`,
  },
  {
    name: 'allocations_consistent',
    description: 'What spends and reservations hold on a lot never exceeds what left that lot',
    query: (p) => sql<Row>`
      select la.operation_id as "operationId", la.lot_id as "lotId", la.amount, la.released
      from lot_allocations la join lots l on l.id = la.lot_id
      where l.program_id = ${p} and (la.released < 0 or la.released > la.amount)
      limit 100`,
  },
  {
    name: 'allocations_cover_refunds',
    description: 'What a spend or reservation still holds on lots equals what it can still give back: a spend its amount less restores; a pending reservation its amount; a posted one its posted amount less restores; a voided or expired one nothing',
    query: (p) => sql<Row>`
      with held as (select operation_id, sum(amount - released) as total from lot_allocations group by 1),
      expected as (
        select o.id, o.kind,
          case when o.kind = 'spend' then o.amount - o.restored
               when r.status = 'pending' then r.amount
               when r.status = 'posted' then r.posted_amount - coalesce(post.restored, 0)
               else 0 end as total
        from operations o
        left join reservations r on o.kind = 'reserve' and r.operation_id = o.id
        left join operations post on post.id = r.post_operation_id
        where o.program_id = ${p} and o.kind in ('spend', 'reserve')
      )
      select x.id as "operationId", x.kind, x.total::bigint as expected, coalesce(h.total, 0)::bigint as held
      from expected x left join held h on h.operation_id = x.id
      where x.total <> coalesce(h.total, 0)
      limit 100`,
  },
  {
    name: 'refunds_within_operations',
    description: 'No earn is reversed beyond its amount, no spend restored beyond its amount',
    query: (p) => sql<Row>`
      select id as "operationId", kind, amount, reversed, restored from operations
      where program_id = ${p} and (reversed > amount or restored > amount)
      limit 100`,
  },
  {
    name: 'rows_in_program',
    description: 'Every operation, lot and entry names one of its member’s wallets in its program, a transfer’s counterpart is a member of it, and an entry moves points between accounts of its program and wallet',
    // The database holds the first two by composite references (migration 0018), but the bulk
    // paths may write with foreign-key checks off (src/db/foreign-key-repository.ts); the
    // accounts of an entry are referenced by id alone.
    query: (p) => sql<Row>`
      select 'operation' as "row", o.id::text as id, o.member_id as "memberId", o.wallet_id as "walletId" from operations o
      where o.program_id = ${p} and (
        not exists (select 1 from member_wallets mw where mw.program_id = o.program_id and mw.member_id = o.member_id and mw.wallet_id = o.wallet_id)
        or (o.counterpart_member_id is not null and not exists (select 1 from members m where m.program_id = o.program_id and m.id = o.counterpart_member_id)))
      union all
      select 'lot', l.id::text, l.member_id, l.wallet_id from lots l
      where l.program_id = ${p} and not exists (select 1 from member_wallets mw where mw.program_id = l.program_id and mw.member_id = l.member_id and mw.wallet_id = l.wallet_id)
      union all
      select 'entry', e.id::text, e.member_id, e.wallet_id from entries e
      join accounts d on d.id = e.debit_account_id join accounts c on c.id = e.credit_account_id
      where e.program_id = ${p} and (
        not exists (select 1 from member_wallets mw where mw.program_id = e.program_id and mw.member_id = e.member_id and mw.wallet_id = e.wallet_id)
        or d.program_id <> e.program_id or d.wallet_id <> e.wallet_id or c.program_id <> e.program_id or c.wallet_id <> e.wallet_id)
      limit 100`,
  },
  {
    name: 'entries_immutable',
    description: 'The triggers that refuse UPDATE, DELETE and TRUNCATE of entries are in place and enabled',
    query: () => sql<Row>`
      select t.name as "trigger" from (values ('entries_immutable'), ('entries_no_truncate')) t(name)
      where not exists (
        select 1 from pg_trigger g where g.tgrelid = 'entries'::regclass and g.tgname = t.name and g.tgenabled <> 'D'
      )`,
  },
];

export async function runCheck(db: Executor, programId: string, index: number): Promise<Row[]> {
  return rows(db, checks[index]!.query(programId));
}

export async function programTotals(db: Executor, programId: string) {
  const { rows: result } = await sql<Row>`
    select
      coalesce((select sum(balance) from accounts a where a.program_id = ${programId} and a.kind = 'available' and a.balance > 0), 0)::bigint as "availablePositive",
      coalesce((select -sum(balance) from accounts a where a.program_id = ${programId} and a.kind = 'available' and a.balance < 0), 0)::bigint as "negativeBalances",
      coalesce((select sum(balance) from accounts a where a.program_id = ${programId} and a.kind = 'pending'), 0)::bigint as pending,
      coalesce((select sum(balance) from accounts a where a.program_id = ${programId} and a.kind = 'reserved'), 0)::bigint as reserved,
      (select count(*) from entries where program_id = ${programId})::bigint as entries,
      (select count(*) from lots where program_id = ${programId})::bigint as lots`.execute(db);
  return result[0] ?? {};
}
