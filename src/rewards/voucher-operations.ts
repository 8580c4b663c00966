import { recordEvent } from '../events/event-repository.ts';
import { ProblemError } from '../http/error-codes.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { cancelRedemption, expireVoucher } from './redemption-operations.ts';
import { CART_KINDS, type Benefit } from './reward-benefit.ts';
import * as repo from './reward-repository.ts';
import type { VoucherRow } from './reward-repository.ts';
import { effectiveVoucherStatus, voucherView } from './reward-views.ts';
import { normalizeCode } from './voucher-code.ts';
import { discountFor, type Cart, type Discount } from './voucher-discount.ts';
import { programDetails } from '../ledger/ledger-context.ts';

export interface VoucherUse {
  code: string;
  /** When given, the voucher must belong to this member. */
  memberId?: string;
  /** Required for discount vouchers; tickets (experience) need none. */
  cart?: Cart;
}

/**
 * Why this voucher cannot be used on this cart now, as the problem to return; or its discount.
 * `orderId`: a voucher already consumed by this very order still counts as valid for it.
 */
async function assess(ctx: LedgerContext, v: VoucherRow, use: VoucherUse, orderId?: string): Promise<Discount | null> {
  const status = effectiveVoucherStatus(v, ctx.now);
  if (status === 'consumed' && !(orderId && v.order_id === orderId)) {
    throw new ProblemError('voucher_already_used', `voucher ${v.code} was used by another order`, { voucherId: v.id, consumedAt: v.consumed_at?.toISOString() });
  }
  if (status === 'expired') throw new ProblemError('voucher_expired', `voucher ${v.code} expired at ${v.expires_at?.toISOString()}`, { voucherId: v.id, expiresAt: v.expires_at?.toISOString() });
  if (status === 'cancelled') throw new ProblemError('voucher_cancelled', `voucher ${v.code} was cancelled`, { voucherId: v.id });
  if (use.memberId && use.memberId !== v.member_id) {
    throw new ProblemError('voucher_wrong_member', `voucher ${v.code} belongs to another member`, { voucherId: v.id });
  }
  if (!CART_KINDS.has(v.kind)) {
    if (use.cart) throw new ProblemError('voucher_not_applicable', `a ${v.kind} voucher is not a discount and does not apply to a cart`, { voucherId: v.id, kind: v.kind });
    return null;
  }
  const cart = use.cart;
  if (!cart) throw new ProblemError('validation_failed', `a ${v.kind} voucher needs the cart to compute its discount`);
  if (v.renewal_only && !cart.renewal) {
    throw new ProblemError('voucher_not_applicable', `voucher ${v.code} applies to a subscription renewal order only`, { voucherId: v.id, reason: 'renewal_only' });
  }
  if (v.subscription_id && cart.subscriptionId !== v.subscription_id) {
    throw new ProblemError('voucher_not_applicable', `voucher ${v.code} applies to the renewal of subscription ${v.subscription_id}`, { voucherId: v.id, reason: 'other_subscription' });
  }
  if (cart.currency) {
    const { currency } = await programDetails(ctx);
    if (cart.currency !== currency) {
      throw new ProblemError('voucher_not_applicable', `the cart is in ${cart.currency}; vouchers of this program are in ${currency}`, { voucherId: v.id, reason: 'currency' });
    }
  }
  const result = discountFor(v.kind, v.benefit as Benefit, cart);
  if (!result.applicable) throw new ProblemError('voucher_not_applicable', result.reason, { voucherId: v.id, reason: 'cart' });
  return result.discount;
}

async function byCode(ctx: LedgerContext, code: string, lock: boolean) {
  const normalized = normalizeCode(code);
  const v = lock ? await repo.lockVoucherByCode(ctx.trx, ctx.program.id, normalized) : await repo.findVoucherByCode(ctx.trx, ctx.program.id, normalized);
  if (!v) throw new ProblemError('voucher_not_found', 'no voucher with this code in this program');
  return v;
}

/** Is the code good for this cart, and what does it take off? Changes nothing. */
export async function validateVoucher(ctx: LedgerContext, use: VoucherUse & { orderId?: string }) {
  const v = await byCode(ctx, use.code, false);
  const discount = await assess(ctx, v, use, use.orderId);
  return { valid: true as const, voucher: voucherView(v, ctx.now), discount };
}

/**
 * Marks the voucher used by an order. Consuming it again for the same order returns the same
 * result (a shop may retry after a timeout without an Idempotency-Key); another order gets
 * voucher_already_used.
 */
export async function consumeVoucher(ctx: LedgerContext, use: VoucherUse & { orderId: string }) {
  const v = await byCode(ctx, use.code, true);
  if (v.status === 'consumed' && v.order_id === use.orderId) {
    return { voucher: voucherView(v, ctx.now), discountMinor: v.discount_minor, alreadyConsumed: true };
  }
  const discount = await assess(ctx, v, use);
  await repo.updateVoucher(ctx.trx, v.id, {
    status: 'consumed', order_id: use.orderId, consumed_at: ctx.now, discount_minor: discount?.amountMinor ?? null, updated_at: ctx.now,
  });
  await recordEvent(ctx.trx, ctx.program.id, 'voucher.consumed', v.member_id, {
    memberId: v.member_id, voucherId: v.id, rewardId: v.reward_id, orderId: use.orderId, discountMinor: discount?.amountMinor ?? null,
  });
  const updated = await repo.findVoucherById(ctx.trx, ctx.program.id, v.id);
  return { voucher: voucherView(updated!, ctx.now), discountMinor: discount?.amountMinor ?? null, alreadyConsumed: false };
}

async function releaseOne(ctx: LedgerContext, v: VoucherRow, orderId: string) {
  await repo.updateVoucher(ctx.trx, v.id, { status: 'issued', order_id: null, consumed_at: null, discount_minor: null, updated_at: ctx.now });
  await recordEvent(ctx.trx, ctx.program.id, 'voucher.released', v.member_id, { memberId: v.member_id, voucherId: v.id, rewardId: v.reward_id, orderId });
  // A voucher whose validity ended while the order was open does not come back to life.
  const ended = await expireVoucher(ctx, v.id);
  const updated = await repo.findVoucherById(ctx.trx, ctx.program.id, v.id);
  return { voucher: voucherView(updated!, ctx.now), refundedPoints: ended.refunded };
}

/**
 * The order was cancelled: its vouchers become usable again (or expire at once if their validity
 * ended meanwhile). With a code, only that voucher; without, every voucher the order used.
 */
export async function releaseVouchers(ctx: LedgerContext, input: { orderId: string; code?: string }) {
  if (input.code) {
    const v = await byCode(ctx, input.code, true);
    if (v.status !== 'consumed' || v.order_id !== input.orderId) {
      throw new ProblemError('voucher_not_consumed', `voucher ${v.code} is not used by order ${input.orderId}`, { voucherId: v.id, status: effectiveVoucherStatus(v, ctx.now) });
    }
    return { orderId: input.orderId, released: [await releaseOne(ctx, v, input.orderId)] };
  }
  const released = [];
  for (const v of await repo.lockVouchersOfOrder(ctx.trx, ctx.program.id, input.orderId)) released.push(await releaseOne(ctx, v, input.orderId));
  return { orderId: input.orderId, released };
}

export async function getVoucher(ctx: LedgerContext, idOrCode: { id?: string; code?: string }) {
  const v = idOrCode.id
    ? await repo.findVoucherById(ctx.trx, ctx.program.id, idOrCode.id)
    : await repo.findVoucherByCode(ctx.trx, ctx.program.id, normalizeCode(idOrCode.code ?? ''));
  if (!v) throw new ProblemError('voucher_not_found');
  return voucherView(v, ctx.now);
}

export async function cancelVoucher(ctx: LedgerContext, voucherId: string, reason?: string) {
  const v = await repo.findVoucherById(ctx.trx, ctx.program.id, voucherId);
  if (!v) throw new ProblemError('voucher_not_found');
  return cancelRedemption(ctx, v.redemption_id, reason);
}

export async function memberVouchers(ctx: LedgerContext, memberId: string, status: 'issued' | 'consumed' | 'expired' | 'cancelled' | undefined, limit: number) {
  if (!(await findMemberRow(ctx.trx, ctx.program.id, memberId))) throw new ProblemError('member_not_found', `no member ${memberId} in this program`);
  const rows = await repo.listMemberVouchers(ctx.trx, ctx.program.id, memberId, status, limit);
  return rows.map((v) => voucherView(v, ctx.now)).filter((v) => !status || v.status === status);
}
