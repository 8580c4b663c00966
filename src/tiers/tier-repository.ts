import { sql, type QueryCreator, type RawBuilder } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';
import { recordset } from '../db/recordset.ts';
import type { DB, TierMetric } from '../db/schema.ts';
import type { LadderSettings, TierDefinition } from './tier-ladder.ts';
import { forgetLadder } from './ladder-memo.ts';

export type LadderRow = NonNullable<Awaited<ReturnType<typeof findLadder>>>;
export type TierRow = Awaited<ReturnType<typeof listTierRows>>[number];
export type MemberTierRow = NonNullable<Awaited<ReturnType<typeof findMemberTier>>>;
export type MembershipRow = NonNullable<Awaited<ReturnType<typeof findMembership>>>;
export type MetricValues = Record<TierMetric, number>;

/** An instant as JSON text in UTC with milliseconds, the same shape as Date.toISOString(). */
const isoSql = (column: RawBuilder<unknown>) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The entry tier test in SQL: an earned tier whose thresholds are all zero. */
const entryTierSql = (t: string) => sql`(${sql.ref(`${t}.kind`)} = 'earned' and coalesce(${sql.ref(`${t}.min_net_spend`)}, 0) = 0
  and coalesce(${sql.ref(`${t}.min_points_earned`)}, 0) = 0 and coalesce(${sql.ref(`${t}.min_orders`)}, 0) = 0)`;

/**
 * Does tier `t` qualify with these sums? `any` needs one threshold met, `all` every one; a
 * negative sum (a refund recorded before its order) counts as zero. The one qualification rule:
 * the activity path and the review job both use it.
 */
function meetsSql(mode: RawBuilder<unknown>, spend: RawBuilder<unknown>, points: RawBuilder<unknown>, orders: RawBuilder<unknown>) {
  return sql`case when ${mode} = 'all' then
      (t.min_net_spend is null or greatest(${spend}, 0) >= t.min_net_spend)
      and (t.min_points_earned is null or greatest(${points}, 0) >= t.min_points_earned)
      and (t.min_orders is null or greatest(${orders}, 0) >= t.min_orders)
    else
      (t.min_net_spend is not null and greatest(${spend}, 0) >= t.min_net_spend)
      or (t.min_points_earned is not null and greatest(${points}, 0) >= t.min_points_earned)
      or (t.min_orders is not null and greatest(${orders}, 0) >= t.min_orders)
    end`;
}

/**
 * The effective tier of member_tiers row `mt` at `now`: an active lock wins; otherwise the
 * highest-ranked of the earned tier, an active floor, an active invitation, an active paid
 * membership and the entry tier.
 */
function effectiveTierSql(now: Date) {
  return sql<string | null>`case when mt.lock_until > ${now} then mt.lock_tier_id else (
    select t.id from tiers t where t.program_id = mt.program_id and (
      t.id = mt.earned_tier_id
      or (t.id = mt.floor_tier_id and (mt.floor_until is null or mt.floor_until > ${now}))
      or (t.id = mt.invited_tier_id and (mt.invited_until is null or mt.invited_until > ${now}))
      or ${entryTierSql('t')}
      or exists (select 1 from tier_memberships tm where tm.member_id = mt.member_id and tm.tier_id = t.id
                 and tm.status = 'active' and tm.starts_at <= ${now} and tm.ends_at > ${now})
    ) order by t.rank desc limit 1) end`;
}

/** The next instant after `now` at which one of the member's paid memberships starts or ends. */
function paidCheckSql(now: Date) {
  return sql<Date | null>`(select min(x) from (
      select tm.starts_at as x from tier_memberships tm where tm.member_id = mt.member_id and tm.status = 'active' and tm.starts_at > ${now}
      union all
      select tm.ends_at from tier_memberships tm where tm.member_id = mt.member_id and tm.status = 'active' and tm.ends_at > ${now}
    ) s)`;
}

// ---------------------------------------------------------------- program

/** What tier operations need of the program: the ledger context fields and the currency. */
// ---------------------------------------------------------------- ladder

export async function findLadder(db: Executor, programId: string) {
  return db.selectFrom('tier_ladders').selectAll().where('program_id', '=', programId).executeTakeFirst();
}

export async function listTierRows(db: Executor, programId: string) {
  return db.selectFrom('tiers').selectAll().where('program_id', '=', programId).orderBy('rank').execute();
}

export async function lockLadder(trx: Tx, programId: string) {
  return trx.selectFrom('tier_ladders').selectAll().where('program_id', '=', programId).forUpdate().executeTakeFirst();
}

/** A share lock on the ladder: its tiers cannot be removed (lockLadder waits) until the transaction ends. */
export async function shareLadder(trx: Tx, programId: string) {
  return trx.selectFrom('tier_ladders').select('program_id').where('program_id', '=', programId).forShare().executeTakeFirst();
}

export async function upsertLadder(trx: Tx, programId: string, s: LadderSettings, now: Date) {
  forgetLadder(trx);
  const values = {
    window_kind: s.windowKind, window_months: s.windowMonths, qualification: s.qualification, grace_days: s.graceDays,
    downgrade_one_level: s.downgradeOneLevel, refund_downgrade: s.refundDowngrade, updated_at: now,
  };
  await trx.insertInto('tier_ladders').values({ program_id: programId, ...values, created_at: now })
    .onConflict((oc) => oc.column('program_id').doUpdateSet(values)).execute();
}

function tierColumns(t: TierDefinition) {
  return {
    code: t.code, name: t.name, description: t.description, rank: t.rank, kind: t.kind,
    min_net_spend: t.thresholds.net_spend ?? null, min_points_earned: t.thresholds.points_earned ?? null, min_orders: t.thresholds.orders ?? null,
    price_minor: t.priceMinor, period_months: t.periodMonths, earn_multiplier_bp: t.earnMultiplierBp,
    free_shipping: t.freeShipping, early_access: t.earlyAccess, discount_bp: t.discountBp, perks: JSON.stringify(t.perks),
    entry_reward_points: t.entryReward?.points ?? null, entry_reward_wallet: t.entryReward?.wallet ?? null,
    birthday_points: t.birthdayGift?.points ?? null, birthday_wallet: t.birthdayGift?.wallet ?? null,
    birthday_reward_code: t.birthdayGift?.rewardCode ?? null,
  };
}

/** Replaces the ladder's tiers: same code, same id; ranks may swap (the rank constraint is deferred). */
export async function saveTiers(trx: Tx, programId: string, defs: TierDefinition[], now: Date) {
  forgetLadder(trx);
  const existing = await listTierRows(trx, programId);
  const byCode = new Map(existing.map((t) => [t.code, t]));
  const keep = new Set(defs.map((d) => d.code));
  const removed = existing.filter((t) => !keep.has(t.code));
  if (removed.length > 0) await trx.deleteFrom('tiers').where('id', 'in', removed.map((t) => t.id)).execute();
  for (const def of defs) {
    const row = byCode.get(def.code);
    if (row) {
      await trx.updateTable('tiers').set({ ...tierColumns(def), updated_at: now }).where('id', '=', row.id).execute();
    } else {
      await trx.insertInto('tiers').values({ program_id: programId, ...tierColumns(def), created_at: now, updated_at: now }).execute();
    }
  }
}

export async function deleteTier(trx: Tx, tierId: string) {
  forgetLadder(trx);
  await trx.deleteFrom('tiers').where('id', '=', tierId).execute();
}

/**
 * How many members hold each of these tiers in any way: in a tier slot (current, earned, grace
 * target, floor, lock, invitation) or by a paid membership, ended ones included (their record
 * keeps pointing at the tier).
 */
export async function tierHolders(db: Executor, programId: string, tierIds: string[]): Promise<Map<string, number>> {
  if (tierIds.length === 0) return new Map();
  const { rows } = await sql<{ tier_id: string; members: number }>`
    select tier_id, count(distinct member_id)::int as members from (
      select unnest(array[tier_id, earned_tier_id, grace_tier_id, floor_tier_id, lock_tier_id, invited_tier_id]) as tier_id, member_id
      from member_tiers where program_id = ${programId}
      union all
      select tier_id, member_id from tier_memberships where program_id = ${programId}
    ) held
    where tier_id = any(${tierIds}::uuid[])
    group by tier_id`.execute(db);
  return new Map(rows.map((r) => [r.tier_id, r.members]));
}

export async function existingWalletCodes(db: Executor, programId: string, codes: string[]): Promise<Set<string>> {
  if (codes.length === 0) return new Set();
  const rows = await db.selectFrom('wallets').select('code').where('program_id', '=', programId).where('code', 'in', codes).execute();
  return new Set(rows.map((r) => r.code));
}

// ---------------------------------------------------------------- member state

export async function findMemberTier(db: Executor, programId: string, memberId: string) {
  return db.selectFrom('member_tiers').selectAll().where('program_id', '=', programId).where('member_id', '=', memberId).executeTakeFirst();
}

/** Creates the member's tier row if missing (holding the entry tier, if any), then locks it. */
export async function lockMemberTier(trx: Tx, programId: string, memberId: string, now: Date): Promise<MemberTierRow> {
  const locked = await trx.selectFrom('member_tiers').selectAll().where('member_id', '=', memberId).forUpdate().executeTakeFirst();
  if (locked) return locked;
  await sql`
    insert into member_tiers (member_id, program_id, tier_id, earned_tier_id, created_at, updated_at)
    select ${memberId}, ${programId}, e.id, e.id, ${now}, ${now}
    from (select 1) one left join lateral (
      select t.id from tiers t where t.program_id = ${programId} and ${entryTierSql('t')} order by t.rank limit 1
    ) e on true
    on conflict (member_id) do nothing`.execute(trx);
  return trx.selectFrom('member_tiers').selectAll().where('member_id', '=', memberId).forUpdate().executeTakeFirstOrThrow();
}

export type MemberTierPatch = Partial<Omit<MemberTierRow, 'member_id' | 'program_id' | 'due_at' | 'created_at'>>;

export async function updateMemberTier(trx: Tx, memberId: string, patch: MemberTierPatch, now: Date) {
  await trx.updateTable('member_tiers').set({ ...patch, updated_at: now }).where('member_id', '=', memberId).execute();
}

/** Recomputes when the member's paid memberships next start or end. */
export async function refreshPaidCheck(trx: Tx, memberId: string, now: Date) {
  await sql`update member_tiers mt set paid_check_at = ${paidCheckSql(now)}, updated_at = ${now} where mt.member_id = ${memberId}`.execute(trx);
}

export async function effectiveTierId(db: Executor, memberId: string, now: Date): Promise<string | null> {
  const { rows } = await sql<{ id: string | null }>`select ${effectiveTierSql(now)} as id from member_tiers mt where mt.member_id = ${memberId}`.execute(db);
  return rows[0]?.id ?? null;
}

export async function activeMemberships(db: Executor, memberId: string, now: Date) {
  return db.selectFrom('tier_memberships').selectAll().where('member_id', '=', memberId)
    .where('status', '=', 'active').where('starts_at', '<=', now).where('ends_at', '>', now).orderBy('ends_at', 'desc').execute();
}

// ---------------------------------------------------------------- metric events

export interface MetricEventInput {
  program_id: string;
  member_id: string;
  metric: TierMetric;
  amount: number;
  occurred_at: Date;
  source_type: string;
  source_id: string;
  recorded_at: Date;
}

/** The insert of activity rows (a source's metric is recorded once), for a caller that may send it with another write (a CTE). */
export function metricEventsInsert(db: QueryCreator<DB>, rows: MetricEventInput[]) {
  return db.insertInto('tier_metric_events')
    .columns(['program_id', 'member_id', 'metric', 'amount', 'occurred_at', 'source_type', 'source_id', 'recorded_at'])
    .expression(recordset(rows, {
      program_id: 'uuid', member_id: 'uuid', metric: 'text', amount: 'bigint', occurred_at: 'timestamptz', source_type: 'text', source_id: 'text', recorded_at: 'timestamptz',
    }))
    .onConflict((oc) => oc.columns(['program_id', 'metric', 'source_type', 'source_id']).doNothing())
    .returning('metric');
}

/** Inserts the events that are new; returns the metrics inserted (a replayed source inserts none). */
export async function insertMetricEvents(trx: Tx, rows: MetricEventInput[]): Promise<TierMetric[]> {
  if (rows.length === 0) return [];
  return (await metricEventsInsert(trx, rows).execute()).map((r) => r.metric);
}

export async function findMetricEvents(db: Executor, programId: string, sourceType: string, sourceId: string) {
  return db.selectFrom('tier_metric_events').selectAll().where('program_id', '=', programId)
    .where('source_type', '=', sourceType).where('source_id', '=', sourceId).execute();
}

export interface Window {
  start: Date | null;
  end: Date | null;
}

/**
 * Sums of each metric over each window ([start, end), null = unbounded) and the highest earned
 * tier those sums qualify for (the same rule as the review job), in one query.
 */
export async function windowSums(db: Executor, programId: string, memberId: string, windows: Window[]): Promise<(MetricValues & { tierId: string | null })[]> {
  if (windows.length === 0) return [];
  const values = sql.join(windows.map((w, i) => sql`(${i}::int, ${w.start}::timestamptz, ${w.end}::timestamptz)`));
  const { rows } = await sql<{ i: number; tier_id: string | null } & MetricValues>`
    with s as (
      select w.i,
        coalesce(sum(e.amount) filter (where e.metric = 'net_spend'), 0)::bigint as net_spend,
        coalesce(sum(e.amount) filter (where e.metric = 'points_earned'), 0)::bigint as points_earned,
        coalesce(sum(e.amount) filter (where e.metric = 'orders'), 0)::bigint as orders
      from (values ${values}) w(i, s, e)
      left join tier_metric_events e on e.member_id = ${memberId}
        and (w.s is null or e.occurred_at >= w.s) and (w.e is null or e.occurred_at < w.e)
      group by w.i
    )
    select s.*, qt.id as tier_id
    from s
    left join tier_ladders l on l.program_id = ${programId}
    left join lateral (
      select t.id from tiers t
      where t.program_id = ${programId} and t.kind = 'earned' and ${meetsSql(sql`l.qualification`, sql`s.net_spend`, sql`s.points_earned`, sql`s.orders`)}
      order by t.rank desc limit 1
    ) qt on true
    order by s.i`.execute(db);
  return rows.map((r) => ({ net_spend: r.net_spend, points_earned: r.points_earned, orders: r.orders, tierId: r.tier_id }));
}

export interface MemberWindows {
  current: Window;
  previous: Window | null;
  /** The window the next review judges, when a review is scheduled. */
  review: Window | null;
  /** When an earned tier reached now would be reviewed. */
  nextReview: Date;
}

/** The member's qualification windows at `now`, computed by the calendar functions of 0004-tiers. */
export async function memberWindows(
  db: Executor, programId: string, memberId: string, now: Date,
  state: { last_review_at: Date | null; review_at: Date | null; qualified_at: Date | null } | undefined,
): Promise<MemberWindows> {
  const lastReviewAt = state?.last_review_at ?? null;
  const reviewAt = state?.review_at ?? null;
  const periodStart = state?.qualified_at ?? null;
  const { rows } = await sql<{ cs: Date | null; ce: Date | null; ps: Date | null; pe: Date | null; rs: Date | null; nr: Date }>`
    with c as (
      select l.window_kind as k, l.window_months as n, p.time_zone as tz, m.enrolled_at as e
      from tier_ladders l join programs p on p.id = l.program_id
      join members m on m.program_id = l.program_id and m.id = ${memberId}
      where l.program_id = ${programId}
    )
    select
      laurel_tier_window_start(k, n, tz, e, ${now}) as cs,
      laurel_tier_window_end(k, n, tz, e, ${now}) as ce,
      case when k in ('calendar_year', 'anniversary')
             then laurel_tier_window_start(k, n, tz, e, laurel_tier_window_start(k, n, tz, e, ${now}) - interval '1 microsecond')
           when k = 'rolling_months' and ${lastReviewAt}::timestamptz is not null
             then laurel_tier_review_window_start(k, n, tz, e, ${lastReviewAt}::timestamptz, null) end as ps,
      case when k in ('calendar_year', 'anniversary') then laurel_tier_window_start(k, n, tz, e, ${now})
           when k = 'rolling_months' then ${lastReviewAt}::timestamptz end as pe,
      case when ${reviewAt}::timestamptz is not null then laurel_tier_review_window_start(k, n, tz, e, ${reviewAt}::timestamptz, ${periodStart}::timestamptz) end as rs,
      laurel_tier_next_review(k, n, tz, e, ${now}) as nr
    from c`.execute(db);
  const r = rows[0];
  if (!r) throw new Error(`no tier ladder or member ${memberId} in program ${programId}`);
  return {
    current: { start: r.cs, end: r.ce },
    previous: r.pe ? { start: r.ps, end: r.pe } : null,
    review: reviewAt ? { start: r.rs, end: reviewAt } : null,
    nextReview: r.nr,
  };
}

/** Month arithmetic on the local calendar of a time zone (31 January + 1 month = 28/29 February). */
export async function addMonths(db: Executor, timeZone: string, instant: Date, months: number): Promise<Date> {
  const { rows } = await sql<{ at: Date }>`select ((${instant}::timestamptz at time zone ${timeZone}) + make_interval(months => ${months}::int)) at time zone ${timeZone} as at`.execute(db);
  return rows[0]!.at;
}

// ---------------------------------------------------------------- due processing (set-based)

/** Locks up to `limit` members whose tier state has something due, skipping rows locked by live requests. */
export async function lockDueBatch(trx: Tx, programId: string, now: Date, limit: number): Promise<{ member_id: string; due_at: Date }[]> {
  const { rows } = await sql<{ member_id: string; due_at: Date }>`
    select member_id, due_at from member_tiers
    where program_id = ${programId} and due_at <= ${now}
    order by due_at, member_id
    limit ${limit}
    for update skip locked`.execute(trx);
  return rows;
}

export async function listLadderPrograms(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('tier_ladders').select('program_id').orderBy('program_id').execute();
  return rows.map((r) => r.program_id);
}

/**
 * Grace periods that ran out: the earned tier becomes the one the review decided. A grace period
 * also ends when the next review falls due first (only after a ladder change shortened the
 * window), so that review can run.
 */
export async function expireGrace(trx: Tx, programId: string, ids: string[], now: Date): Promise<string[]> {
  const { rows } = await sql<{ member_id: string }>`
    with g as (
      select mt.member_id, mt.grace_tier_id, (gt.id is not null and not ${entryTierSql('gt')}) as reviewable
      from member_tiers mt left join tiers gt on gt.id = mt.grace_tier_id
      where mt.member_id = any(${ids}::uuid[]) and mt.program_id = ${programId} and (mt.grace_until <= ${now} or (mt.grace_until is not null and mt.review_at <= ${now}))
    )
    update member_tiers mt set earned_tier_id = g.grace_tier_id, grace_until = null, grace_tier_id = null,
      review_at = case when g.reviewable then mt.review_at end, updated_at = ${now}
    from g where mt.member_id = g.member_id
    returning mt.member_id`.execute(trx);
  return rows.map((r) => r.member_id);
}

/**
 * Reviews every member of `ids` whose review is due and who is not in a grace period: the
 * window that ends at the scheduled review_at (not at `now`: a late run judges the same window)
 * decides. Keeps or raises the earned tier, or lowers it (at most one level when the ladder says
 * so), or starts a grace period. Writes tier.grace_started events.
 *
 * Set-based for the review job: calendar arithmetic runs once per distinct review date (and
 * enrolment day or period start where the window needs them), sums use the member index.
 */
export async function reviewDue(trx: Tx, programId: string, ids: string[], now: Date): Promise<{ member_id: string; grace: boolean; down: boolean; changed: boolean }[]> {
  const { rows } = await sql<{ member_id: string; grace: boolean; down: boolean; changed: boolean }>`
    with cfg as materialized (
      select l.window_kind, l.window_months, l.qualification, l.grace_days, l.downgrade_one_level, p.time_zone as tz
      from tier_ladders l join programs p on p.id = l.program_id where l.program_id = ${programId}
    ),
    d as materialized (
      select mt.member_id, mt.review_at as r, mt.earned_tier_id,
        -- only what the window kind depends on, so that most members share a key
        coalesce(case when cfg.window_kind = 'anniversary'
          then date_trunc('day', (select m.enrolled_at from members m where m.id = mt.member_id) at time zone cfg.tz) at time zone cfg.tz end,
          '-infinity') as enrolled_key,
        coalesce(case when cfg.window_kind = 'rolling_months' then mt.qualified_at end, '-infinity') as period_key
      from member_tiers mt cross join cfg
      where mt.member_id = any(${ids}::uuid[]) and mt.program_id = ${programId} and mt.review_at <= ${now} and mt.grace_until is null
    ),
    k as materialized (
      select x.r, x.enrolled_key, x.period_key,
        laurel_tier_review_window_start(cfg.window_kind, cfg.window_months, cfg.tz, nullif(x.enrolled_key, '-infinity'), x.r, nullif(x.period_key, '-infinity')) as ws,
        laurel_tier_next_review(cfg.window_kind, cfg.window_months, cfg.tz, nullif(x.enrolled_key, '-infinity'), x.r) as next_r
      from (select distinct r, enrolled_key, period_key from d) x cross join cfg
    ),
    s as (
      select d.member_id, d.r, d.earned_tier_id, k.next_r, et.rank as earned_rank,
        coalesce(x.spend, 0) as spend, coalesce(x.points, 0) as points, coalesce(x.orders, 0) as orders
      from d
      join k on k.r = d.r and k.enrolled_key = d.enrolled_key and k.period_key = d.period_key
      left join tiers et on et.id = d.earned_tier_id
      left join lateral (
        select sum(e.amount) filter (where e.metric = 'net_spend') as spend,
          sum(e.amount) filter (where e.metric = 'points_earned') as points,
          sum(e.amount) filter (where e.metric = 'orders') as orders
        from tier_metric_events e
        where e.member_id = d.member_id and (k.ws is null or e.occurred_at >= k.ws) and e.occurred_at < d.r
      ) x on true
    ),
    q as (
      select s.*, qt.id as q_id, coalesce(qt.rank, -1) as q_rank
      from s cross join cfg
      left join lateral (
        select t.id, t.rank from tiers t
        where t.program_id = ${programId} and t.kind = 'earned' and ${meetsSql(sql`cfg.qualification`, sql`s.spend`, sql`s.points`, sql`s.orders`)}
        order by t.rank desc limit 1
      ) qt on true
    ),
    t as (
      select q.member_id, q.r, q.next_r, q.earned_tier_id, (q.q_rank < coalesce(q.earned_rank, -1)) as down,
        case when q.q_rank < coalesce(q.earned_rank, -1) and cfg.downgrade_one_level and coalesce(lo.rank, -1) > q.q_rank
             then lo.id else q.q_id end as target_id
      from q cross join cfg
      left join lateral (
        select lt.id, lt.rank from tiers lt where lt.program_id = ${programId} and lt.kind = 'earned' and lt.rank < q.earned_rank
        order by lt.rank desc limit 1
      ) lo on true
    ),
    u as materialized (
      select t.*, (t.down and cfg.grace_days > 0) as grace, cfg.grace_days,
        ((t.down and cfg.grace_days > 0) or (tt.id is not null and not ${entryTierSql('tt')})) as reviewable
      from t cross join cfg left join tiers tt on tt.id = t.target_id
    ),
    upd as (
      update member_tiers mt set
        earned_tier_id = case when u.grace then mt.earned_tier_id else u.target_id end,
        grace_until = case when u.grace then u.r + make_interval(days => u.grace_days) end,
        grace_tier_id = case when u.grace then u.target_id end,
        last_review_at = u.r,
        qualified_at = u.r,
        review_at = case when u.reviewable then u.next_r end,
        updated_at = ${now}
      from u
      where mt.member_id = u.member_id
      returning mt.member_id, u.grace, u.down, mt.grace_until, u.earned_tier_id, u.target_id,
        (not u.grace and u.target_id is distinct from u.earned_tier_id) as changed
    ),
    grace_events as (
      insert into events (program_id, type, member_id, payload)
      select ${programId}, 'tier.grace_started', upd.member_id, jsonb_build_object(
        'memberId', upd.member_id, 'tier', et.code, 'graceUntil', ${isoSql(sql`upd.grace_until`)}, 'thenTier', gt.code)
      from upd join tiers et on et.id = upd.earned_tier_id left join tiers gt on gt.id = upd.target_id
      where upd.grace
    )
    select member_id, grace, down, changed from upd`.execute(trx);
  return rows;
}

/** Locks, floors and invitations that ran out are cleared; paid memberships that started or ended are noted. */
export async function expireTimeBound(trx: Tx, programId: string, ids: string[], now: Date) {
  const { rows } = await sql<{ member_id: string; lock_ended: boolean; floor_ended: boolean; invitation_ended: boolean; paid_due: boolean }>`
    with o as (
      select member_id,
        coalesce(lock_until <= ${now}, false) as lock_ended,
        coalesce(floor_until <= ${now}, false) as floor_ended,
        coalesce(invited_until <= ${now}, false) as invitation_ended,
        coalesce(paid_check_at <= ${now}, false) as paid_due
      from member_tiers
      where member_id = any(${ids}::uuid[]) and program_id = ${programId}
        and (lock_until <= ${now} or floor_until <= ${now} or invited_until <= ${now} or paid_check_at <= ${now})
    )
    update member_tiers mt set
      lock_tier_id = case when o.lock_ended then null else mt.lock_tier_id end,
      lock_until = case when o.lock_ended then null else mt.lock_until end,
      lock_reason = case when o.lock_ended then null else mt.lock_reason end,
      floor_tier_id = case when o.floor_ended then null else mt.floor_tier_id end,
      floor_until = case when o.floor_ended then null else mt.floor_until end,
      floor_reason = case when o.floor_ended then null else mt.floor_reason end,
      invited_tier_id = case when o.invitation_ended then null else mt.invited_tier_id end,
      invited_until = case when o.invitation_ended then null else mt.invited_until end,
      paid_check_at = case when o.paid_due then ${paidCheckSql(now)} else mt.paid_check_at end,
      updated_at = ${now}
    from o where mt.member_id = o.member_id
    returning mt.member_id, o.lock_ended, o.floor_ended, o.invitation_ended, o.paid_due`.execute(trx);
  return rows;
}

export interface TierChange {
  member_id: string;
  from_tier: string | null;
  to_tier: string | null;
  to_tier_id: string | null;
  direction: 'up' | 'down';
  reason: string;
  /** An upgrade to a tier the member never held before (its entry reward is due). */
  first_reached: boolean;
}

/**
 * Sets each member's effective tier to what its sources give at `now`; for every member whose
 * tier changes, writes the history row and the tier.changed event, and marks tiers reached for
 * the first time. A reason of `paid` becomes paid_started or paid_expired by direction.
 */
export async function applyEffective(
  trx: Tx, programId: string, items: { memberId: string; reason: string }[], now: Date, actor: string, details: Record<string, unknown> = {},
): Promise<TierChange[]> {
  if (items.length === 0) return [];
  const ids = items.map((i) => i.memberId);
  const { rows } = await sql<TierChange>`
    with r as (
      select * from unnest(${ids}::uuid[], ${items.map((i) => i.reason)}::text[]) as r(member_id, reason)
    ),
    x as materialized (
      select mt.member_id, mt.tier_id as old_id, ${effectiveTierSql(now)} as new_id, r.reason
      from member_tiers mt join r on r.member_id = mt.member_id
      where mt.program_id = ${programId} and mt.member_id = any(${ids}::uuid[])
    ),
    named as materialized (
      select x.member_id, x.new_id, ot.code as from_tier, nt.code as to_tier, d.direction,
        case when x.reason = 'paid' then (case d.direction when 'up' then 'paid_started' else 'paid_expired' end) else x.reason end as why
      from x left join tiers ot on ot.id = x.old_id left join tiers nt on nt.id = x.new_id
      cross join lateral (select case when coalesce(nt.rank, -1) > coalesce(ot.rank, -1) then 'up' else 'down' end as direction) d
      where x.old_id is distinct from x.new_id
    ),
    upd as (
      update member_tiers mt set tier_id = named.new_id, changed_at = ${now}, updated_at = ${now}
      from named where mt.member_id = named.member_id
      returning mt.member_id
    ),
    hist as (
      insert into member_tier_history (program_id, member_id, from_tier, to_tier, direction, reason, details, actor, created_at)
      select ${programId}, member_id, from_tier, to_tier, direction, why, ${JSON.stringify(details)}::jsonb, ${actor}, ${now} from named
    ),
    ev as (
      insert into events (program_id, type, member_id, payload)
      select ${programId}, 'tier.changed', member_id, jsonb_build_object(
        'memberId', member_id, 'from', from_tier, 'to', to_tier, 'direction', direction, 'reason', why,
        'details', ${JSON.stringify(details)}::jsonb, 'at', ${isoSql(sql`${now}::timestamptz`)})
      from named
    ),
    firsts as (
      insert into tier_first_reached (member_id, tier_code, program_id, reached_at)
      select member_id, to_tier, ${programId}, ${now} from named where direction = 'up' and to_tier is not null
      on conflict (member_id, tier_code) do nothing
      returning member_id
    )
    select n.member_id, n.from_tier, n.to_tier, n.new_id as to_tier_id, n.direction, n.why as reason,
      (f.member_id is not null) as first_reached
    from named n left join firsts f on f.member_id = n.member_id`.execute(trx);
  return rows;
}

// ---------------------------------------------------------------- entry rewards, birthday gifts

export async function setEntryOperation(trx: Tx, memberId: string, tierCode: string, operationId: string) {
  await trx.updateTable('tier_first_reached').set({ entry_operation_id: operationId }).where('member_id', '=', memberId).where('tier_code', '=', tierCode).execute();
}

export async function insertBirthdayGift(trx: Tx, row: { program_id: string; member_id: string; year: number; tier_code: string; reward_code: string | null; created_at: Date }) {
  const inserted = await trx.insertInto('tier_birthday_gifts').values(row).onConflict((oc) => oc.columns(['member_id', 'year']).doNothing())
    .returning('member_id').executeTakeFirst();
  return inserted !== undefined;
}

export async function findBirthdayGift(db: Executor, memberId: string, year: number) {
  return db.selectFrom('tier_birthday_gifts').selectAll().where('member_id', '=', memberId).where('year', '=', year).executeTakeFirst();
}

export async function setBirthdayOperation(trx: Tx, memberId: string, year: number, operationId: string) {
  await trx.updateTable('tier_birthday_gifts').set({ operation_id: operationId }).where('member_id', '=', memberId).where('year', '=', year).execute();
}

// ---------------------------------------------------------------- paid memberships

export async function findMembership(db: Executor, programId: string, id: string) {
  return db.selectFrom('tier_memberships').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function lockMembership(trx: Tx, id: string) {
  return trx.selectFrom('tier_memberships').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
}

export async function findRunningMembership(trx: Tx, memberId: string, tierId: string, now: Date) {
  return trx.selectFrom('tier_memberships').selectAll().where('member_id', '=', memberId).where('tier_id', '=', tierId)
    .where('status', '=', 'active').where('ends_at', '>', now).orderBy('ends_at', 'desc').forUpdate().executeTakeFirst();
}

export async function insertMembership(trx: Tx, row: {
  program_id: string; member_id: string; tier_id: string; starts_at: Date; ends_at: Date; auto_renew: boolean; price_minor: number;
  reference_type: string | null; reference_id: string | null; created_at: Date; updated_at: Date;
}) {
  return trx.insertInto('tier_memberships').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function updateMembership(trx: Tx, id: string, patch: Partial<Pick<MembershipRow, 'ends_at' | 'status' | 'auto_renew' | 'periods' | 'cancelled_at'>>, now: Date) {
  return trx.updateTable('tier_memberships').set({ ...patch, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function listMemberships(db: Executor, programId: string, memberId: string) {
  return db.selectFrom('tier_memberships').selectAll().where('program_id', '=', programId).where('member_id', '=', memberId)
    .orderBy('starts_at', 'desc').orderBy('id').limit(100).execute();
}

// ---------------------------------------------------------------- history

export async function listHistory(db: Executor, programId: string, memberId: string, beforeId: number | undefined, limit: number) {
  let q = db.selectFrom('member_tier_history').selectAll().where('program_id', '=', programId).where('member_id', '=', memberId);
  if (beforeId !== undefined) q = q.where('id', '<', beforeId);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

/**
 * What an order has contributed to tier activity so far, as one row (net_spend, orders, sources),
 * for the order `orderId` names: a value, or a column of an outer query (`sql.ref`) when this is
 * a lateral subquery. By the order alone, which only tier_metric_events_by_order serves (its
 * plan is tested: test/tiers/order-tier-lookup.test.ts).
 */
export const orderTierContributionsQuery = (orderId: string | RawBuilder<unknown>) => sql<{ net_spend: number; orders: number; sources: number }>`
    select coalesce(sum(amount) filter (where metric = 'net_spend'), 0)::bigint as net_spend,
           coalesce(sum(amount) filter (where metric = 'orders'), 0)::bigint as orders,
           count(distinct source_id)::int as sources
    from tier_metric_events
    where source_type = 'order' and split_part(source_id, '#', 1) = ${orderId}::text`;

/**
 * What an order (of the caller's program, which has checked it) has contributed to tier activity
 * so far: its sources are `order` / `<orderId>#<n>` (migration 0014).
 */
export async function orderTierContributions(db: Executor, orderId: string) {
  const { rows: [row] } = await orderTierContributionsQuery(orderId).execute(db);
  return { netSpend: row!.net_spend, orders: row!.orders, sources: row!.sources };
}
