import { recordEvent } from '../events/event-repository.ts';
import { invariant, ProblemError } from '../http/error-codes.ts';
import * as ledger from '../ledger/ledger-operations.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { checkWindow, nextOpening, periodStart } from './reward-availability.ts';
import { VOUCHER_KINDS, type Benefit } from './reward-benefit.ts';
import * as repo from './reward-repository.ts';
import type { RewardRow } from './reward-repository.ts';
import { memberTier } from './reward-tier.ts';
import { redemptionView, voucherView } from './reward-views.ts';
import { DEFAULT_CODE_FORMAT, generateVoucherCode, type CodeFormat } from './voucher-code.ts';
import { timeOrderedId } from '../shared/time-ordered-id.ts';

const DAY_MS = 86_400_000;
const CODE_ATTEMPTS = 8;

export interface RedeemInput {
  memberId: string;
  rewardId: string;
  /** Donations only: how many points to give (a multiple of the reward's cost); default its cost. */
  points?: number;
  /** Apply the voucher to this subscription's next renewal order. */
  subscriptionId?: string;
  /** Custom rewards: what the member asks for (e.g. the item to repair). */
  note?: string;
}

/** What a member's tier makes the reward cost. */
export function costFor(reward: Pick<RewardRow, 'cost_points' | 'tier_costs'>, tier: string | null): number {
  const perTier = tier === null ? undefined : (reward.tier_costs as Record<string, number>)[tier];
  return perTier ?? reward.cost_points;
}

export interface Blocker {
  code: 'reward_unavailable' | 'reward_out_of_window' | 'reward_tier_restricted' | 'reward_limit_reached' | 'reward_out_of_stock' | 'insufficient_points' | 'code_pool_exhausted';
  detail: string;
  extra: Record<string, unknown>;
}

/** Rules that depend on the reward and the member's tier only, in the order a redemption checks them. */
export function staticBlockers(ctx: LedgerContext, reward: RewardRow, tier: string | null): Blocker[] {
  const out: Blocker[] = [];
  if (reward.status !== 'active') {
    out.push({ code: 'reward_unavailable', detail: `reward "${reward.name}" is ${reward.status}`, extra: { status: reward.status } });
  }
  const window = { startsAt: reward.starts_at, endsAt: reward.ends_at, weekdays: reward.weekdays };
  const check = checkWindow(window, ctx.now, ctx.program.time_zone);
  if (!check.open) {
    const opensAt = nextOpening(window, ctx.now, ctx.program.time_zone);
    out.push({ code: 'reward_out_of_window', detail: `reward "${reward.name}" is not open now: ${check.detail}`, extra: { reason: check.reason, nextOpensAt: opensAt?.toISOString() ?? null } });
  }
  if (reward.allowed_tiers && !(tier !== null && reward.allowed_tiers.includes(tier))) {
    out.push({
      code: 'reward_tier_restricted',
      detail: `reward "${reward.name}" is for tier ${reward.allowed_tiers.join(' or ')}; the member is ${tier === null ? 'in no tier' : `in tier ${tier}`}`,
      extra: { allowedTiers: reward.allowed_tiers, memberTier: tier },
    });
  }
  return out;
}

export async function limitBlocker(ctx: LedgerContext, reward: RewardRow, memberId: string): Promise<Blocker | null> {
  if (reward.limit_count === null || reward.limit_period === null) return null;
  const since = periodStart(reward.limit_period, ctx.now, ctx.program.time_zone);
  const used = await repo.countRedemptionsSince(ctx.trx, reward.id, memberId, since);
  if (used < reward.limit_count) return null;
  return {
    code: 'reward_limit_reached',
    detail: `${used} of ${reward.limit_count} redemptions of "${reward.name}" per ${reward.limit_period} used`,
    extra: { limit: reward.limit_count, period: reward.limit_period, used, periodStart: since?.toISOString() ?? null },
  };
}

function raise(b: Blocker): never {
  throw new ProblemError(b.code, b.detail, b.extra);
}

async function findRewardOrThrow(ctx: LedgerContext, rewardId: string) {
  const reward = await repo.findReward(ctx.trx, ctx.program.id, rewardId);
  if (!reward) throw new ProblemError('reward_not_found', `no reward ${rewardId} in this program`);
  return reward;
}

async function issueVoucher(ctx: LedgerContext, reward: RewardRow, redemptionId: string, memberId: string, subscriptionId: string | undefined) {
  const base = {
    program_id: ctx.program.id,
    reward_id: reward.id,
    redemption_id: redemptionId,
    member_id: memberId,
    kind: reward.kind,
    benefit: JSON.stringify(reward.benefit),
    status: 'issued' as const,
    renewal_only: reward.usage === 'renewal' || subscriptionId !== undefined,
    subscription_id: subscriptionId ?? null,
    refund_on_expiry: reward.refund_on_expiry,
    refund_on_cancel: reward.refund_on_cancel,
    valid_from: ctx.now,
    expires_at: reward.voucher_validity_days === null ? null : new Date(ctx.now.getTime() + reward.voucher_validity_days * DAY_MS),
    created_at: ctx.now,
    updated_at: ctx.now,
  };
  if (reward.code_source === 'pool') {
    const code = await repo.takePoolCode(ctx.trx, reward.id, ctx.now);
    if (!code) throw new ProblemError('code_pool_exhausted', `reward "${reward.name}" has no imported codes left; import more with POST /v1/rewards/${reward.id}/codes`, { rewardId: reward.id });
    const inserted = await repo.insertVoucher(ctx.trx, { ...base, code });
    invariant(inserted, `pool code of reward ${reward.id} is not already a voucher`);
    return inserted.id;
  }
  const format = { ...DEFAULT_CODE_FORMAT, ...(reward.code_format as Partial<CodeFormat>) };
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const inserted = await repo.insertVoucher(ctx.trx, { ...base, code: generateVoucherCode(format) });
    if (inserted) return inserted.id;
  }
  // With ≥ 50 random bits, eight collisions in a row mean the generator is broken.
  throw new Error(`could not draw a free voucher code for reward ${reward.id} in ${CODE_ATTEMPTS} attempts`);
}

/**
 * Redeems a reward for a member in the caller's transaction: checks availability, window, tier
 * and limit; takes stock; spends the points; delivers (voucher, store credit, donation, or a
 * request for the merchant). Any failure throws before commit, so nothing is half done.
 */
export async function redeem(ctx: LedgerContext, input: RedeemInput, options: { free?: boolean } = {}) {
  const reward = await findRewardOrThrow(ctx, input.rewardId);
  const member = await findMemberRow(ctx.trx, ctx.program.id, input.memberId);
  if (!member) throw new ProblemError('member_not_found', `no member ${input.memberId} in this program`);
  if (member.status !== 'active') throw new ProblemError('member_blocked', `member ${input.memberId} is blocked`, { memberId: input.memberId });
  if (input.points !== undefined && reward.kind !== 'donation') {
    throw new ProblemError('validation_failed', 'points is only given for donations; other rewards cost what the catalog says');
  }
  if (input.subscriptionId !== undefined && !VOUCHER_KINDS.has(reward.kind)) {
    throw new ProblemError('validation_failed', `a ${reward.kind} reward issues no voucher to apply to a renewal`);
  }
  const tier = await memberTier(ctx.trx, ctx.program.id, input.memberId, ctx.now);
  const [first] = staticBlockers(ctx, reward, tier);
  if (first) raise(first);

  let points = options.free ? 0 : costFor(reward, tier);
  if (reward.kind === 'donation' && !options.free) {
    const step = points;
    points = input.points ?? step;
    if (step > 0 && (points < step || points % step !== 0)) {
      throw new ProblemError('donation_amount_invalid', `donate a multiple of ${step} points (got ${points})`, { step });
    }
  }

  // Lock order: member wallet, then the per-member limit, then the reward's stock row.
  await repo.lockMemberWallet(ctx.trx, input.memberId, reward.wallet_id);
  if (reward.limit_count !== null) {
    await repo.lockMemberReward(ctx.trx, reward.id, input.memberId);
    const over = await limitBlocker(ctx, reward, input.memberId);
    if (over) raise(over);
  }
  if (reward.stock_total !== null) {
    const left = await repo.takeStock(ctx.trx, reward.id);
    if (left === undefined) throw new ProblemError('reward_out_of_stock', `reward "${reward.name}" is out of stock`, { stock: reward.stock_total });
  }

  const redemptionId = timeOrderedId(ctx.now);
  const reference = { type: 'reward', id: reward.id };
  const spend = points > 0
    ? await ledger.spend(ctx, {
      memberId: input.memberId, wallet: reward.wallet_code, amount: points, reference,
      description: `Reward: ${reward.name}`.slice(0, 500), metadata: { redemptionId, rewardKind: reward.kind },
    })
    : null;

  const benefit = reward.benefit as Benefit;
  let creditOperationId: string | null = null;
  const details: Record<string, unknown> = {};
  if (reward.kind === 'store_credit') {
    const credit = await ledger.earn(ctx, {
      memberId: input.memberId, wallet: benefit.wallet!, amount: benefit.amount!, pendingUntil: null, reference,
      description: `Store credit from reward: ${reward.name}`.slice(0, 500), metadata: { redemptionId },
    });
    creditOperationId = credit.operation.id;
    details.credit = { wallet: benefit.wallet, amount: benefit.amount };
  }
  await repo.insertRedemption(ctx.trx, {
    id: redemptionId,
    program_id: ctx.program.id,
    reward_id: reward.id,
    member_id: input.memberId,
    wallet_id: reward.wallet_id,
    kind: reward.kind,
    points,
    spend_operation_id: spend?.operation.id ?? null,
    credit_operation_id: creditOperationId,
    status: reward.kind === 'custom' ? 'requested' : 'completed',
    tier,
    details: JSON.stringify(reward.kind === 'donation' ? { cause: benefit.cause } : details),
    note: input.note ?? null,
    actor: ctx.actor,
    created_at: ctx.now,
  });
  if (VOUCHER_KINDS.has(reward.kind)) await issueVoucher(ctx, reward, redemptionId, input.memberId, input.subscriptionId);
  let causeTotal: { points: number; donations: number } | null = null;
  if (reward.kind === 'donation' && points > 0) causeTotal = await repo.addDonation(ctx.trx, ctx.program.id, benefit.cause!, points, ctx.now);

  const view = await redemptionWithVoucher(ctx, redemptionId);
  invariant(VOUCHER_KINDS.has(reward.kind) === (view.voucher !== null), 'a redemption has a voucher exactly when its reward issues one');
  await recordEvent(ctx.trx, ctx.program.id, 'reward.redeemed', input.memberId, {
    memberId: input.memberId, redemptionId, rewardId: reward.id, rewardCode: reward.code, rewardName: reward.name, kind: reward.kind,
    points, wallet: reward.wallet_code, automatic: ctx.actor === 'system',
    voucher: view.voucher ? { id: view.voucher.id, code: view.voucher.code, expiresAt: view.voucher.expiresAt } : null,
    ...(causeTotal ? { cause: benefit.cause } : {}),
  });
  return { ...view, donation: causeTotal ? { cause: benefit.cause!, points, causeTotal: causeTotal.points, causeDonations: causeTotal.donations } : null };
}

/**
 * Gives a member a reward without charging points (a birthday gift, a tier's welcome present),
 * by the reward's code or id; the catalog's other rules (window, tier, limit, stock) still apply.
 * In the caller's transaction; throws the same problems as a redemption.
 */
export async function grantReward(ctx: LedgerContext, input: { memberId: string; rewardCode?: string; rewardId?: string }) {
  const reward = input.rewardId
    ? await repo.findReward(ctx.trx, ctx.program.id, input.rewardId)
    : await repo.findRewardByCode(ctx.trx, ctx.program.id, input.rewardCode ?? '');
  if (!reward) throw new ProblemError('reward_not_found', `no reward ${input.rewardCode ?? input.rewardId} in this program`);
  if (reward.kind === 'donation') throw new ProblemError('validation_failed', 'a donation gives the member’s own points; it cannot be granted');
  return redeem(ctx, { memberId: input.memberId, rewardId: reward.id }, { free: true });
}

export async function redemptionWithVoucher(ctx: LedgerContext, redemptionId: string) {
  const row = await repo.findRedemption(ctx.trx, ctx.program.id, redemptionId);
  if (!row) throw new ProblemError('redemption_not_found');
  const ref = await repo.findVoucherOfRedemption(ctx.trx, redemptionId);
  const voucher = ref ? await repo.findVoucherById(ctx.trx, ctx.program.id, ref.id) : undefined;
  return redemptionView(row, voucher ? voucherView(voucher, ctx.now) : null);
}

/** Gives back what is left of a redemption's points (cancellation or expiry of an unused voucher). */
async function refundRedemption(ctx: LedgerContext, redemption: repo.RedemptionRow, why: string): Promise<number> {
  const amount = redemption.points - redemption.refunded_points;
  if (amount <= 0 || !redemption.spend_operation_id) return 0;
  await ledger.restore(ctx, {
    operationId: redemption.spend_operation_id, amount,
    reference: { type: 'reward', id: redemption.reward_id }, description: `Refund of reward redemption (${why})`,
  });
  return amount;
}

/**
 * Cancels a redemption whose benefit is still unused: an unused voucher (points back if the
 * reward says so) or a custom request not yet fulfilled (points always back). Stock returns.
 */
export async function cancelRedemption(ctx: LedgerContext, redemptionId: string, reason?: string) {
  const found = await repo.findRedemption(ctx.trx, ctx.program.id, redemptionId);
  if (!found) throw new ProblemError('redemption_not_found');
  // Lock order: voucher, redemption, member wallet (inside restore), reward stock.
  const ref = await repo.findVoucherOfRedemption(ctx.trx, redemptionId);
  const voucher = ref ? await repo.lockVoucherById(ctx.trx, ctx.program.id, ref.id) : undefined;
  const redemption = await repo.lockRedemption(ctx.trx, ctx.program.id, redemptionId);
  invariant(redemption, `redemption ${redemptionId} still exists`);
  if (redemption.kind === 'donation' || redemption.kind === 'store_credit') {
    throw new ProblemError('redemption_not_cancellable', `a ${redemption.kind} is delivered at once and cannot be cancelled`, { kind: redemption.kind });
  }
  if (redemption.status !== 'completed' && redemption.status !== 'requested') {
    throw new ProblemError('redemption_not_cancellable', `redemption ${redemptionId} is ${redemption.status}`, { status: redemption.status });
  }
  let refund = true;
  if (voucher) {
    const status = voucher.status === 'issued' && voucher.expires_at && voucher.expires_at <= ctx.now ? 'expired' : voucher.status;
    if (status !== 'issued') {
      throw new ProblemError('redemption_not_cancellable', `its voucher is ${status}; only an unused voucher can be cancelled`, { voucherStatus: status });
    }
    refund = voucher.refund_on_cancel;
    await repo.updateVoucher(ctx.trx, voucher.id, { status: 'cancelled', resolved_at: ctx.now, updated_at: ctx.now });
  }
  const refunded = refund ? await refundRedemption(ctx, redemption, 'cancelled') : 0;
  await repo.updateRedemption(ctx.trx, redemption.id, {
    status: 'cancelled', resolved_at: ctx.now, refunded_points: redemption.refunded_points + refunded,
    details: JSON.stringify({ ...redemption.details, ...(reason ? { cancelReason: reason } : {}) }),
  });
  await repo.returnStock(ctx.trx, redemption.reward_id);
  await recordEvent(ctx.trx, ctx.program.id, 'reward.redemption_cancelled', redemption.member_id, {
    memberId: redemption.member_id, redemptionId, rewardId: redemption.reward_id, refundedPoints: refunded, reason: reason ?? null,
    voucherId: voucher?.id ?? null,
  });
  return redemptionWithVoucher(ctx, redemptionId);
}

export async function fulfilRedemption(ctx: LedgerContext, redemptionId: string, note?: string) {
  const redemption = await repo.lockRedemption(ctx.trx, ctx.program.id, redemptionId);
  if (!redemption) throw new ProblemError('redemption_not_found');
  if (redemption.status !== 'requested') {
    throw new ProblemError('redemption_not_requested', `redemption ${redemptionId} is ${redemption.status}`, { status: redemption.status });
  }
  await repo.updateRedemption(ctx.trx, redemptionId, {
    status: 'fulfilled', resolved_at: ctx.now,
    details: JSON.stringify({ ...redemption.details, ...(note ? { fulfilmentNote: note } : {}) }),
  });
  await recordEvent(ctx.trx, ctx.program.id, 'reward.fulfilled', redemption.member_id, {
    memberId: redemption.member_id, redemptionId, rewardId: redemption.reward_id, note: note ?? null,
  });
  return redemptionWithVoucher(ctx, redemptionId);
}

/**
 * Ends an unused voucher whose validity has passed, giving the points back if its reward says
 * so. Safe to call twice: a voucher already ended (or used) is left alone.
 */
export async function expireVoucher(ctx: LedgerContext, voucherId: string): Promise<{ expired: boolean; refunded: number }> {
  const voucher = await repo.lockVoucherById(ctx.trx, ctx.program.id, voucherId);
  if (!voucher || voucher.status !== 'issued' || !voucher.expires_at || voucher.expires_at > ctx.now) return { expired: false, refunded: 0 };
  const redemption = await repo.lockRedemption(ctx.trx, ctx.program.id, voucher.redemption_id);
  invariant(redemption, `voucher ${voucherId} has its redemption`);
  await repo.updateVoucher(ctx.trx, voucher.id, { status: 'expired', resolved_at: ctx.now, updated_at: ctx.now });
  const refunded = voucher.refund_on_expiry ? await refundRedemption(ctx, redemption, 'voucher expired unused') : 0;
  if (refunded > 0) await repo.updateRedemption(ctx.trx, redemption.id, { refunded_points: redemption.refunded_points + refunded });
  await recordEvent(ctx.trx, ctx.program.id, 'voucher.expired', voucher.member_id, {
    memberId: voucher.member_id, voucherId: voucher.id, redemptionId: voucher.redemption_id, rewardId: voucher.reward_id, refundedPoints: refunded,
  });
  return { expired: true, refunded };
}

export async function memberRedemptions(ctx: LedgerContext, memberId: string, limit: number) {
  if (!(await findMemberRow(ctx.trx, ctx.program.id, memberId))) throw new ProblemError('member_not_found');
  const rows = await repo.listMemberRedemptions(ctx.trx, ctx.program.id, memberId, limit);
  const out = [];
  for (const row of rows) {
    const ref = await repo.findVoucherOfRedemption(ctx.trx, row.id);
    const voucher = ref ? await repo.findVoucherById(ctx.trx, ctx.program.id, ref.id) : undefined;
    out.push(redemptionView(row, voucher ? voucherView(voucher, ctx.now) : null));
  }
  return out;
}
