import { sql } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';

// ---------------------------------------------------------------- scheduling

/** A run that failed this many times is left for an operator (its last_error says why). */
export const MAX_RUNS = 10;

export async function programsForScheduling(db: Executor) {
  return db
    .selectFrom('programs as p')
    .leftJoin('lifecycle_settings as s', 's.program_id', 'p.id')
    .select(['p.id', 'p.name', 'p.time_zone', 'p.created_at', 's.settings'])
    .orderBy('p.id')
    .execute();
}

/** The runs recorded for local dates from `since` on, as "program/job/date" keys. */
export async function recentRuns(db: Executor, since: string): Promise<Set<string>> {
  const rows = await db.selectFrom('scheduled_runs').select(['program_id', 'job', 'local_date']).where('local_date', '>=', since).execute();
  return new Set(rows.map((r) => `${r.program_id}/${r.job}/${r.local_date}`));
}

/** Records a run of a daily job for a program and local date; false when it already exists. */
export async function claimRun(trx: Tx, programId: string, job: string, localDate: string): Promise<boolean> {
  const row = await trx
    .insertInto('scheduled_runs')
    .values({ program_id: programId, job, local_date: localDate })
    .onConflict((oc) => oc.columns(['program_id', 'job', 'local_date']).doNothing())
    .returning('job')
    .executeTakeFirst();
  return Boolean(row);
}

/**
 * Open runs whose worker went quiet for `staleAfterMs` (on the database clock: liveness is real
 * time, whatever calendar the run is for): re-enqueued, their clock restarted, by the scheduler.
 */
export async function takeStaleRuns(trx: Tx, staleAfterMs: number) {
  const { rows } = await sql<{ program_id: string; job: string; local_date: string }>`
    with stale as (
      select program_id, job, local_date from scheduled_runs
      where completed_at is null and coalesce(heartbeat_at, enqueued_at) < now() - ${staleAfterMs} * interval '1 millisecond'
        and runs < ${MAX_RUNS}
      order by enqueued_at limit 100
      for update skip locked
    )
    update scheduled_runs r set enqueued_at = now(), heartbeat_at = null
    from stale where r.program_id = stale.program_id and r.job = stale.job and r.local_date = stale.local_date
    returning r.program_id, r.job, to_char(r.local_date, 'YYYY-MM-DD') as local_date`.execute(trx);
  return rows;
}

/** Adds a graphile-worker job in the caller's transaction, so that it exists exactly when the run row does. */
export async function enqueueJob(trx: Tx, task: string, payload: Record<string, unknown>, jobKey: string, maxAttempts = 10) {
  await sql`select graphile_worker.add_job(${task}, ${JSON.stringify(payload)}::json, job_key := ${jobKey}, max_attempts := ${maxAttempts})`.execute(trx);
}

export async function storedSettings(db: Executor, programId: string) {
  return (await db.selectFrom('lifecycle_settings').select('settings').where('program_id', '=', programId).executeTakeFirst())?.settings;
}

export async function findRun(db: Executor, programId: string, job: string, localDate: string) {
  return db
    .selectFrom('scheduled_runs')
    .selectAll()
    .where('program_id', '=', programId)
    .where('job', '=', job)
    .where('local_date', '=', localDate)
    .executeTakeFirst();
}

export async function startRun(db: Executor, programId: string, job: string, localDate: string) {
  await db
    .updateTable('scheduled_runs')
    .set({ runs: sql<number>`runs + 1`, heartbeat_at: sql<Date>`now()` })
    .where('program_id', '=', programId).where('job', '=', job).where('local_date', '=', localDate)
    .execute();
}

export async function heartbeatRun(db: Executor, programId: string, job: string, localDate: string) {
  await db
    .updateTable('scheduled_runs')
    .set({ heartbeat_at: sql<Date>`now()` })
    .where('program_id', '=', programId).where('job', '=', job).where('local_date', '=', localDate)
    .execute();
}

export async function finishRun(db: Executor, programId: string, job: string, localDate: string, error: string | null) {
  await db
    .updateTable('scheduled_runs')
    .set(error === null ? { completed_at: sql<Date>`now()`, last_error: null } : { last_error: error.slice(0, 2000) })
    .where('program_id', '=', programId).where('job', '=', job).where('local_date', '=', localDate)
    .execute();
}

// ---------------------------------------------------------------- once-only marks

export interface Mark {
  key: string;
  member_id: string | null;
  expires_at: Date | null;
}

/** Inserts the marks not yet present and returns their keys: only those may act. */
export async function insertMarks(trx: Tx, programId: string, marks: Mark[]): Promise<Set<string>> {
  if (marks.length === 0) return new Set();
  const rows = await trx
    .insertInto('lifecycle_marks')
    .values(marks.map((m) => ({ ...m, program_id: programId })))
    .onConflict((oc) => oc.columns(['program_id', 'key']).doNothing())
    .returning('key')
    .execute();
  return new Set(rows.map((r) => r.key));
}

export async function deleteExpiredMarks(db: Executor, before: Date): Promise<number> {
  const result = await db.deleteFrom('lifecycle_marks').where('expires_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteOldRuns(db: Executor, before: Date): Promise<number> {
  const result = await db.deleteFrom('scheduled_runs').where('completed_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---------------------------------------------------------------- expiring points

export interface ExpiringGroup {
  member_id: string;
  wallet: string;
  last_day: string;
  amount: number;
  expires_at: Date;
}

/**
 * Vested points expiring in (now, horizon], per member, wallet and last usable local day (the
 * day before a midnight expiry), for the next `limit` members after `afterMember`.
 */
export async function expiringGroups(
  db: Executor,
  options: { programId: string; timeZone: string; now: Date; horizon: Date; walletIds: string[]; afterMember: string | null; limit: number },
): Promise<ExpiringGroup[]> {
  if (options.walletIds.length === 0) return [];
  const after = options.afterMember ? sql`and l.member_id > ${options.afterMember}::uuid` : sql``;
  const { rows } = await sql<ExpiringGroup>`
    with ms as (
      select distinct l.member_id from lots l
      where l.program_id = ${options.programId} and l.remaining > 0 and l.vested
        and l.expires_at > ${options.now} and l.expires_at <= ${options.horizon}
        and l.wallet_id = any(${options.walletIds}::uuid[]) ${after}
      order by l.member_id
      limit ${options.limit}
    )
    select l.member_id, w.code as wallet,
           to_char((l.expires_at - interval '1 millisecond') at time zone ${options.timeZone}, 'YYYY-MM-DD') as last_day,
           sum(l.remaining)::bigint as amount, min(l.expires_at) as expires_at
    from lots l
    join ms on ms.member_id = l.member_id
    join wallets w on w.id = l.wallet_id
    join members m on m.id = l.member_id and m.status = 'active'
    where l.program_id = ${options.programId} and l.remaining > 0 and l.vested
      and l.expires_at > ${options.now} and l.expires_at <= ${options.horizon}
      and l.wallet_id = any(${options.walletIds}::uuid[])
    group by l.member_id, w.code, last_day
    order by l.member_id, w.code, last_day`.execute(db);
  return rows;
}

export async function walletIdsByCode(db: Executor, programId: string) {
  return db.selectFrom('wallets').select(['id', 'code', 'expiry_kind']).where('program_id', '=', programId).execute();
}

// ---------------------------------------------------------------- birthdays

/** Active members born on one of `days` of `month`, after `afterId`, by id. */
export async function birthdayMembers(db: Executor, programId: string, month: number, days: number[], afterId: string | null, limit: number) {
  let q = db
    .selectFrom('members')
    .select(['id', 'birthday'])
    .where('program_id', '=', programId)
    .where('status', '=', 'active')
    .where('birthday', 'is not', null)
    .where(sql<boolean>`extract(month from birthday) = ${month}`)
    .where(sql<boolean>`extract(day from birthday) = any(${days}::int[])`);
  if (afterId) q = q.where('id', '>', afterId);
  return q.orderBy('id').limit(limit).execute();
}

// ---------------------------------------------------------------- at-risk

export interface PurchaseStats {
  member_id: string;
  purchases: number;
  first_at: Date | null;
  last_at: Date | null;
  last_activity_at: Date | null;
}

export async function ordersTableExists(db: Executor): Promise<boolean> {
  const { rows } = await sql<{ ok: boolean }>`
    select exists (
      select 1 from information_schema.columns
      where table_schema = current_schema() and table_name = 'orders' and column_name in ('member_id', 'paid_at', 'placed_at', 'status')
      group by table_name having count(*) = 4
    ) as ok`.execute(db);
  return rows[0]?.ok === true;
}

/**
 * Purchase history of the next `limit` active members: paid orders when the orders module is
 * installed (refunded and cancelled ones do not count), else earns that reference an order; and
 * the member's last ledger activity.
 */
export async function purchaseStats(db: Executor, programId: string, afterId: string | null, limit: number, source: 'orders' | 'earns'): Promise<PurchaseStats[]> {
  const after = afterId ? sql`and id > ${afterId}::uuid` : sql``;
  const purchases = source === 'orders'
    ? sql`select member_id, coalesce(paid_at, placed_at) as at from orders
          where program_id = ${programId} and member_id in (select id from ms)
            and status in ('paid', 'fulfilled', 'partially_refunded') and coalesce(paid_at, placed_at) is not null`
    : sql`select member_id, created_at as at from operations
          where program_id = ${programId} and member_id in (select id from ms) and kind = 'earn' and reference_type = 'order'`;
  const { rows } = await sql<PurchaseStats>`
    with ms as (select id from members where program_id = ${programId} and status = 'active' ${after} order by id limit ${limit}),
    p as (${purchases}),
    agg as (select member_id, count(*)::int as purchases, min(at) as first_at, max(at) as last_at from p group by member_id),
    act as (select member_id, max(last_activity_at) as last_activity_at from member_wallets where member_id in (select id from ms) group by member_id)
    select ms.id as member_id, coalesce(agg.purchases, 0) as purchases, agg.first_at, agg.last_at, act.last_activity_at
    from ms left join agg on agg.member_id = ms.id left join act on act.member_id = ms.id
    order by ms.id`.execute(db);
  return rows;
}

