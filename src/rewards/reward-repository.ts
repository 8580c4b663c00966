import { sql, type Insertable, type Updateable } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';
import type { RewardKind, RewardRedemptionsTable, RewardsTable, RewardVouchersTable, VoucherStatus } from '../db/schema.ts';

// ---------------------------------------------------------------- rewards

function rewardQuery(db: Executor) {
  return db.selectFrom('rewards').innerJoin('wallets', 'wallets.id', 'rewards.wallet_id').selectAll('rewards').select('wallets.code as wallet_code');
}

export type RewardRow = NonNullable<Awaited<ReturnType<typeof findReward>>>;

export async function findReward(db: Executor, programId: string, id: string) {
  return rewardQuery(db).where('rewards.program_id', '=', programId).where('rewards.id', '=', id).executeTakeFirst();
}

export async function findRewardByCode(db: Executor, programId: string, code: string) {
  return rewardQuery(db).where('rewards.program_id', '=', programId).where('rewards.code', '=', code).executeTakeFirst();
}

/** Locks the reward row: catalog edits and stock changes of one reward happen one at a time. */
export async function lockReward(trx: Tx, programId: string, id: string) {
  return rewardQuery(trx).where('rewards.program_id', '=', programId).where('rewards.id', '=', id).forUpdate('rewards').executeTakeFirst();
}

export async function insertReward(trx: Tx, values: Insertable<RewardsTable>) {
  return trx.insertInto('rewards').values(values).returning('id').executeTakeFirstOrThrow();
}

export async function updateReward(trx: Tx, programId: string, id: string, values: Updateable<RewardsTable>) {
  await trx.updateTable('rewards').set(values).where('program_id', '=', programId).where('id', '=', id).execute();
}

export interface RewardFilter {
  status?: string;
  kind?: string;
  visibility?: string;
  after?: { createdAt: Date; id: string };
  limit: number;
}

export async function listRewards(db: Executor, programId: string, filter: RewardFilter) {
  let q = rewardQuery(db).where('rewards.program_id', '=', programId);
  if (filter.status) q = q.where('rewards.status', '=', filter.status as RewardsTable['status']['__select__']);
  if (filter.kind) q = q.where('rewards.kind', '=', filter.kind as RewardKind);
  if (filter.visibility) q = q.where('rewards.visibility', '=', filter.visibility as RewardsTable['visibility']['__select__']);
  if (filter.after) {
    const { createdAt, id } = filter.after;
    q = q.where((eb) => eb.or([eb('rewards.created_at', '>', createdAt), eb.and([eb('rewards.created_at', '=', createdAt), eb('rewards.id', '>', id)])]));
  }
  return q.orderBy('rewards.created_at').orderBy('rewards.id').limit(filter.limit).execute();
}

/** Active rewards members may see, for the member catalog. */
export async function listActiveRewards(db: Executor, programId: string) {
  return rewardQuery(db)
    .where('rewards.program_id', '=', programId)
    .where('rewards.status', '=', 'active')
    .where('rewards.visibility', '=', 'public')
    .orderBy('rewards.cost_points')
    .orderBy('rewards.created_at')
    .execute();
}

/**
 * Takes one unit of stock, or nothing when none is left. The UPDATE locks the row, so concurrent
 * redemptions queue here and the check `stock_remaining > 0` is always made on the latest value.
 */
export async function takeStock(trx: Tx, rewardId: string): Promise<number | undefined> {
  const row = await trx
    .updateTable('rewards')
    .set((eb) => ({ stock_remaining: eb('stock_remaining', '-', 1) }))
    .where('id', '=', rewardId)
    .where('stock_remaining', '>', 0)
    .returning('stock_remaining')
    .executeTakeFirst();
  return row?.stock_remaining ?? undefined;
}

/** Puts one unit back (a cancelled redemption), never above the current total. */
export async function returnStock(trx: Tx, rewardId: string): Promise<void> {
  await sql`update rewards set stock_remaining = least(stock_total, stock_remaining + 1) where id = ${rewardId} and stock_total is not null`.execute(trx);
}

export async function autoIssueRewards(db: Executor, programId: string) {
  return rewardQuery(db)
    .where('rewards.program_id', '=', programId)
    .where('rewards.auto_issue', '=', true)
    .where('rewards.status', '=', 'active')
    .orderBy('rewards.cost_points', 'desc')
    .orderBy('rewards.id')
    .execute();
}

export async function walletOfProgram(db: Executor, programId: string, code: string) {
  return db.selectFrom('wallets').select(['id', 'code', 'unit']).where('program_id', '=', programId).where('code', '=', code).executeTakeFirst();
}

/** The program fields a ledger context carries. */
// ---------------------------------------------------------------- members' balances and locks

/**
 * Locks the member's wallet row, the same lock every ledger operation takes first. Redemption
 * takes it before the reward's stock row, as an earn followed by an automatic note does, so the
 * two never wait on each other in opposite order.
 */
export async function lockMemberWallet(trx: Tx, memberId: string, walletId: string): Promise<void> {
  await trx.selectFrom('member_wallets').select('id').where('member_id', '=', memberId).where('wallet_id', '=', walletId).forUpdate().execute();
}

/** Serialises the per-member limit check of one reward for one member (taken after the wallet lock). */
export async function lockMemberReward(trx: Tx, rewardId: string, memberId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`reward-limit:${rewardId}:${memberId}`}, 0))`.execute(trx);
}

export async function availablePoints(db: Executor, memberId: string, walletId: string): Promise<number> {
  const row = await db
    .selectFrom('member_wallets')
    .innerJoin('accounts', 'accounts.id', 'member_wallets.available_account_id')
    .select('accounts.balance')
    .where('member_wallets.member_id', '=', memberId)
    .where('member_wallets.wallet_id', '=', walletId)
    .executeTakeFirst();
  return row?.balance ?? 0;
}

/** Members holding at least the cost of an automatic note, in batches by member id (for the sweep job). */
export async function membersOverThreshold(db: Executor, options: { programId?: string; afterMemberId?: string; limit: number }) {
  let q = db
    .selectFrom('rewards')
    .innerJoin('member_wallets', 'member_wallets.wallet_id', 'rewards.wallet_id')
    .innerJoin('accounts', 'accounts.id', 'member_wallets.available_account_id')
    .innerJoin('members', 'members.id', 'member_wallets.member_id')
    .select(['member_wallets.program_id', 'member_wallets.member_id'])
    .distinct()
    .where('rewards.auto_issue', '=', true)
    .where('rewards.status', '=', 'active')
    .where('members.status', '=', 'active')
    .whereRef('accounts.balance', '>=', 'rewards.cost_points');
  if (options.programId) q = q.where('rewards.program_id', '=', options.programId);
  if (options.afterMemberId) q = q.where('member_wallets.member_id', '>', options.afterMemberId);
  return q.orderBy('member_wallets.member_id').limit(options.limit).execute();
}

// ---------------------------------------------------------------- redemptions

export type RedemptionRow = NonNullable<Awaited<ReturnType<typeof findRedemption>>>;

function redemptionQuery(db: Executor) {
  return db
    .selectFrom('reward_redemptions')
    .innerJoin('rewards', 'rewards.id', 'reward_redemptions.reward_id')
    .innerJoin('wallets', 'wallets.id', 'reward_redemptions.wallet_id')
    .selectAll('reward_redemptions')
    .select(['rewards.name as reward_name', 'rewards.code as reward_code', 'wallets.code as wallet_code']);
}

export async function countRedemptionsSince(db: Executor, rewardId: string, memberId: string, since: Date | null): Promise<number> {
  let q = db
    .selectFrom('reward_redemptions')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('reward_id', '=', rewardId)
    .where('member_id', '=', memberId)
    .where('status', '<>', 'cancelled');
  if (since) q = q.where('created_at', '>=', since);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertRedemption(trx: Tx, values: Insertable<RewardRedemptionsTable>) {
  await trx.insertInto('reward_redemptions').values(values).execute();
}

export async function findRedemption(db: Executor, programId: string, id: string) {
  return redemptionQuery(db).where('reward_redemptions.program_id', '=', programId).where('reward_redemptions.id', '=', id).executeTakeFirst();
}

export async function lockRedemption(trx: Tx, programId: string, id: string) {
  return redemptionQuery(trx)
    .where('reward_redemptions.program_id', '=', programId)
    .where('reward_redemptions.id', '=', id)
    .forUpdate('reward_redemptions')
    .executeTakeFirst();
}

export async function updateRedemption(trx: Tx, id: string, values: Updateable<RewardRedemptionsTable>) {
  await trx.updateTable('reward_redemptions').set(values).where('id', '=', id).execute();
}

export async function listMemberRedemptions(db: Executor, programId: string, memberId: string, limit: number, before?: { createdAt: Date; id: string }) {
  let q = redemptionQuery(db).where('reward_redemptions.program_id', '=', programId).where('reward_redemptions.member_id', '=', memberId);
  if (before) {
    const { createdAt, id } = before;
    q = q.where((eb) => eb.or([
      eb('reward_redemptions.created_at', '<', createdAt),
      eb.and([eb('reward_redemptions.created_at', '=', createdAt), eb('reward_redemptions.id', '<', id)]),
    ]));
  }
  return q.orderBy('reward_redemptions.created_at', 'desc').orderBy('reward_redemptions.id', 'desc').limit(limit).execute();
}

// ---------------------------------------------------------------- vouchers

export type VoucherRow = NonNullable<Awaited<ReturnType<typeof findVoucherById>>>;

function voucherQuery(db: Executor) {
  return db
    .selectFrom('reward_vouchers')
    .innerJoin('rewards', 'rewards.id', 'reward_vouchers.reward_id')
    .selectAll('reward_vouchers')
    .select(['rewards.name as reward_name', 'rewards.code as reward_code']);
}

/** Inserts a voucher unless its code is taken (then the caller draws another code). */
export async function insertVoucher(trx: Tx, values: Insertable<RewardVouchersTable>) {
  return trx
    .insertInto('reward_vouchers')
    .values(values)
    .onConflict((oc) => oc.columns(['program_id', 'code_normalized']).doNothing())
    .returning('id')
    .executeTakeFirst();
}

export async function findVoucherById(db: Executor, programId: string, id: string) {
  return voucherQuery(db).where('reward_vouchers.program_id', '=', programId).where('reward_vouchers.id', '=', id).executeTakeFirst();
}

export async function lockVoucherById(trx: Tx, programId: string, id: string) {
  return voucherQuery(trx).where('reward_vouchers.program_id', '=', programId).where('reward_vouchers.id', '=', id).forUpdate('reward_vouchers').executeTakeFirst();
}

export async function findVoucherByCode(db: Executor, programId: string, normalizedCode: string) {
  return voucherQuery(db).where('reward_vouchers.program_id', '=', programId).where('reward_vouchers.code_normalized', '=', normalizedCode).executeTakeFirst();
}

export async function lockVoucherByCode(trx: Tx, programId: string, normalizedCode: string) {
  return voucherQuery(trx)
    .where('reward_vouchers.program_id', '=', programId)
    .where('reward_vouchers.code_normalized', '=', normalizedCode)
    .forUpdate('reward_vouchers')
    .executeTakeFirst();
}

export async function findVoucherOfRedemption(db: Executor, redemptionId: string) {
  return db.selectFrom('reward_vouchers').select(['id', 'program_id']).where('redemption_id', '=', redemptionId).executeTakeFirst();
}

export async function lockVouchersOfOrder(trx: Tx, programId: string, orderId: string) {
  return voucherQuery(trx)
    .where('reward_vouchers.program_id', '=', programId)
    .where('reward_vouchers.order_id', '=', orderId)
    .orderBy('reward_vouchers.id')
    .forUpdate('reward_vouchers')
    .execute();
}

export async function updateVoucher(trx: Tx, id: string, values: Updateable<RewardVouchersTable>) {
  await trx.updateTable('reward_vouchers').set(values).where('id', '=', id).execute();
}

export async function listMemberVouchers(db: Executor, programId: string, memberId: string, status: VoucherStatus | undefined, limit: number) {
  let q = voucherQuery(db).where('reward_vouchers.program_id', '=', programId).where('reward_vouchers.member_id', '=', memberId);
  if (status) q = q.where('reward_vouchers.status', '=', status);
  return q.orderBy('reward_vouchers.created_at', 'desc').orderBy('reward_vouchers.id', 'desc').limit(limit).execute();
}

/** Unused vouchers whose validity has ended, for the expiry job. */
export async function dueVouchers(db: Executor, options: { programId?: string; now: Date; limit: number }) {
  let q = db
    .selectFrom('reward_vouchers')
    .select(['id', 'program_id'])
    .where('status', '=', 'issued')
    .where('expires_at', '<=', options.now);
  if (options.programId) q = q.where('program_id', '=', options.programId);
  return q.orderBy('expires_at').limit(options.limit).execute();
}

// ---------------------------------------------------------------- code pools

/** Imports codes into a reward's pool; codes already known in this program (pool or voucher) are skipped. */
export async function insertPoolCodes(trx: Tx, programId: string, rewardId: string, codes: string[]): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    with incoming as (
      select distinct on (upper(c)) c as code from unnest(${codes}::text[]) as c
    ), inserted as (
      insert into reward_pool_codes (program_id, reward_id, code)
      select ${programId}, ${rewardId}, i.code from incoming i
      where not exists (select 1 from reward_vouchers v where v.program_id = ${programId} and v.code_normalized = upper(i.code))
      on conflict (program_id, code_normalized) do nothing
      returning 1
    )
    select count(*) as n from inserted`.execute(trx);
  return Number(rows[0]!.n);
}

/** Hands out one unassigned code; concurrent redemptions skip each other's rows instead of queueing. */
export async function takePoolCode(trx: Tx, rewardId: string, now: Date): Promise<string | undefined> {
  const { rows } = await sql<{ code: string }>`
    update reward_pool_codes set assigned_at = ${now}
    where id = (
      select id from reward_pool_codes where reward_id = ${rewardId} and assigned_at is null
      order by id limit 1 for update skip locked
    )
    returning code`.execute(trx);
  return rows[0]?.code;
}

export async function poolCounts(db: Executor, rewardIds: string[]) {
  if (rewardIds.length === 0) return new Map<string, { available: number; assigned: number }>();
  const rows = await db
    .selectFrom('reward_pool_codes')
    .select((eb) => [
      'reward_id',
      eb.fn.count<string>('id').filterWhere('assigned_at', 'is', null).as('available'),
      eb.fn.count<string>('id').filterWhere('assigned_at', 'is not', null).as('assigned'),
    ])
    .where('reward_id', 'in', rewardIds)
    .groupBy('reward_id')
    .execute();
  return new Map(rows.map((r) => [r.reward_id, { available: Number(r.available), assigned: Number(r.assigned) }]));
}

// ---------------------------------------------------------------- donations

export async function addDonation(trx: Tx, programId: string, cause: string, points: number, now: Date) {
  return trx
    .insertInto('donation_totals')
    .values({ program_id: programId, cause, points, donations: 1, updated_at: now })
    .onConflict((oc) => oc.columns(['program_id', 'cause']).doUpdateSet((eb) => ({
      points: eb('donation_totals.points', '+', eb.ref('excluded.points')),
      donations: eb('donation_totals.donations', '+', 1),
      updated_at: now,
    })))
    .returning(['points', 'donations'])
    .executeTakeFirstOrThrow();
}

export async function listDonationTotals(db: Executor, programId: string) {
  const totals = await db.selectFrom('donation_totals').selectAll().where('program_id', '=', programId).orderBy('cause').execute();
  const donors = await db
    .selectFrom('reward_redemptions')
    .select((eb) => [sql<string>`details->>'cause'`.as('cause'), eb.fn.count<string>('member_id').distinct().as('donors')])
    .where('program_id', '=', programId)
    .where('kind', '=', 'donation')
    .groupBy(sql`details->>'cause'`)
    .execute();
  const byCause = new Map(donors.map((d) => [d.cause, Number(d.donors)]));
  return totals.map((t) => ({ ...t, donors: byCause.get(t.cause) ?? 0 }));
}

// ---------------------------------------------------------------- savepoints

export async function savepoint(trx: Tx, name: string): Promise<void> {
  await sql.raw(`savepoint ${name}`).execute(trx);
}

export async function rollbackToSavepoint(trx: Tx, name: string): Promise<void> {
  await sql.raw(`rollback to savepoint ${name}`).execute(trx);
}

export async function releaseSavepoint(trx: Tx, name: string): Promise<void> {
  await sql.raw(`release savepoint ${name}`).execute(trx);
}
