import { recordEvent } from '../events/event-repository.ts';
import { invariant, ProblemError } from '../http/error-codes.ts';
import * as ledger from '../ledger/ledger-operations.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { balance } from '../ledger/ledger-reads.ts';
import { insertAuditEvent } from '../programs/program-repository.ts';
import { amountForPoints, maxPayableMinor, pointsForAmount, pointsToRestore, quote, type PaymentLimits } from './points-conversion.ts';
import * as repo from './points-payment-repository.ts';
import type { PaymentRow, SettingsRow } from './points-payment-repository.ts';
import { walletOfProgram } from './reward-repository.ts';
import type { PointsPaymentStatus } from '../db/schema.ts';

export interface SettingsInput {
  enabled?: boolean;
  ratePoints: number;
  rateAmountMinor: number;
  minimumPoints?: number;
  maxSharePercent?: number;
  timeoutMs?: number;
}

export function settingsView(s: SettingsRow) {
  return {
    wallet: s.wallet_code,
    enabled: s.enabled,
    ratePoints: s.rate_points,
    rateAmountMinor: s.rate_amount_minor,
    minimumPoints: s.minimum_points,
    maxSharePercent: s.max_share_percent,
    timeoutMs: s.timeout_ms,
    updatedAt: s.updated_at.toISOString(),
  };
}

function limitsOf(s: SettingsRow): PaymentLimits {
  return { ratePoints: s.rate_points, rateAmountMinor: s.rate_amount_minor, minimumPoints: s.minimum_points, maxSharePercent: s.max_share_percent };
}

/**
 * The payment's status as the ledger has it: the reservation may have timed out, or been posted
 * or voided through another path (the orders API settles `paidWithPoints.reservationId` itself).
 */
function effectiveStatus(p: PaymentRow, now: Date): PointsPaymentStatus {
  if (p.status !== 'reserved') return p.status;
  if (p.reservation_status === 'posted') return 'captured';
  if (p.reservation_status === 'voided') return 'cancelled';
  if (p.reservation_status === 'expired' || (p.reservation_status === 'pending' && p.reservation_expires_at <= now)) return 'expired';
  return 'reserved';
}

export function paymentView(p: PaymentRow, now: Date) {
  return {
    id: p.id,
    orderId: p.order_id,
    memberId: p.member_id,
    wallet: p.wallet_code,
    status: effectiveStatus(p, now),
    points: p.points,
    amountMinor: p.amount_minor,
    orderTotalMinor: p.order_total_minor,
    capturedPoints: p.captured_points,
    capturedMinor: p.captured_minor,
    refundedMinor: p.refunded_minor,
    restoredPoints: p.restored_points,
    reservationId: p.reservation_id,
    postOperationId: p.post_operation_id,
    expiresAt: p.reservation_expires_at.toISOString(),
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString(),
  };
}

async function walletId(ctx: LedgerContext, code: string) {
  const wallet = await walletOfProgram(ctx.trx, ctx.program.id, code);
  if (!wallet) throw new ProblemError('unknown_wallet', `this program has no wallet "${code}"`, { wallet: code });
  return wallet.id;
}

export async function putSettings(ctx: LedgerContext, walletCode: string, input: SettingsInput) {
  const id = await walletId(ctx, walletCode);
  await repo.upsertSettings(ctx.trx, {
    program_id: ctx.program.id, wallet_id: id, enabled: input.enabled ?? true, rate_points: input.ratePoints, rate_amount_minor: input.rateAmountMinor,
    minimum_points: input.minimumPoints ?? 0, max_share_percent: input.maxSharePercent ?? 100, timeout_ms: input.timeoutMs ?? 900_000, updated_at: ctx.now,
  });
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'points_payment.settings_updated', subject_type: 'wallet', subject_id: id, details: { wallet: walletCode, ...input },
  });
  return settingsView((await repo.findSettings(ctx.trx, ctx.program.id, id))!);
}

export async function listSettings(ctx: LedgerContext) {
  return (await repo.listSettings(ctx.trx, ctx.program.id)).map(settingsView);
}

async function activeSettings(ctx: LedgerContext, walletCode: string) {
  const settings = await repo.findSettings(ctx.trx, ctx.program.id, await walletId(ctx, walletCode));
  if (!settings || !settings.enabled) {
    throw new ProblemError('points_payment_not_configured', `paying with "${walletCode}" is ${settings ? 'disabled' : 'not set up'}; PUT /v1/points-payments/settings/${walletCode}`, { wallet: walletCode });
  }
  return settings;
}

/** How much of this order the member could pay with points now. */
export async function quotePointsPayment(ctx: LedgerContext, input: { memberId: string; wallet: string; orderTotalMinor: number }) {
  const settings = await activeSettings(ctx, input.wallet);
  const available = (await balance(ctx, input.memberId, input.wallet)).available;
  const q = quote(available, input.orderTotalMinor, limitsOf(settings));
  return { wallet: input.wallet, availablePoints: Math.max(0, available), orderTotalMinor: input.orderTotalMinor, ...q, rate: { points: settings.rate_points, amountMinor: settings.rate_amount_minor }, maxSharePercent: settings.max_share_percent };
}

export interface CreatePaymentInput {
  memberId: string;
  orderId: string;
  orderTotalMinor: number;
  wallet: string;
  /** Money to pay with points; or `points`; or neither: as much as allowed and affordable. */
  amountMinor?: number;
  points?: number;
  timeoutMs?: number;
}

/** Reserves the points for part of an order at the wallet's rate, within the program's limits. */
export async function createPointsPayment(ctx: LedgerContext, input: CreatePaymentInput) {
  if (input.amountMinor !== undefined && input.points !== undefined) {
    throw new ProblemError('validation_failed', 'give amountMinor or points, not both');
  }
  const settings = await activeSettings(ctx, input.wallet);
  const limits = limitsOf(settings);
  const existing = await repo.lockLivePaymentOfOrder(ctx.trx, ctx.program.id, input.orderId);
  if (existing) {
    const status = effectiveStatus(existing, ctx.now);
    if (status === 'reserved' || status === 'captured') {
      throw new ProblemError('points_payment_exists', `order ${input.orderId} already has points payment ${existing.id} (${status})`, { paymentId: existing.id, status });
    }
    await syncFromLedger(ctx, existing);
    if (status === 'expired') await repo.updatePayment(ctx.trx, existing.id, { status, updated_at: ctx.now });
  }
  let amount: number;
  if (input.amountMinor !== undefined) amount = input.amountMinor;
  else if (input.points !== undefined) amount = amountForPoints(input.points, limits);
  else amount = quote((await balance(ctx, input.memberId, input.wallet)).available, input.orderTotalMinor, limits).maxAmountMinor;
  const maxAmountMinor = maxPayableMinor(input.orderTotalMinor, limits);
  if (amount > maxAmountMinor) {
    throw new ProblemError('points_payment_over_limit', `points may pay at most ${maxAmountMinor} (${settings.max_share_percent} %) of this order of ${input.orderTotalMinor}`, {
      maxAmountMinor, maxSharePercent: settings.max_share_percent,
    });
  }
  const points = amount > 0 ? pointsForAmount(amount, limits) : 0;
  if (amount <= 0 || points < settings.minimum_points) {
    throw new ProblemError('points_payment_below_minimum', `at least ${Math.max(1, settings.minimum_points)} points, paying at least one minor unit, are needed (got ${points} points for ${amount})`, {
      minimumPoints: settings.minimum_points, points, amountMinor: amount,
    });
  }
  const reserved = await ledger.reserve(ctx, {
    memberId: input.memberId, wallet: input.wallet, amount: points, timeoutMs: input.timeoutMs ?? settings.timeout_ms,
    reference: { type: 'order', id: input.orderId }, description: 'Pay with points', metadata: { amountMinor: amount, orderTotalMinor: input.orderTotalMinor },
  });
  const { id } = await repo.insertPayment(ctx.trx, {
    program_id: ctx.program.id, member_id: input.memberId, wallet_id: settings.wallet_id, order_id: input.orderId,
    reservation_id: reserved.reservation.id, points, amount_minor: amount, order_total_minor: input.orderTotalMinor,
    status: 'reserved', created_at: ctx.now, updated_at: ctx.now,
  });
  return paymentView((await repo.findPayment(ctx.trx, ctx.program.id, id))!, ctx.now);
}

/** Records on the payment what another path did to its reservation (posted or voided). */
async function syncFromLedger(ctx: LedgerContext, p: PaymentRow): Promise<PaymentRow> {
  const status = effectiveStatus(p, ctx.now);
  if (status === p.status || status === 'expired') return p;
  if (status === 'captured') {
    const points = p.reservation_posted_amount;
    const amount = points === p.points ? p.amount_minor : Math.min(p.amount_minor, amountForPoints(points, limitsOf((await repo.findSettings(ctx.trx, ctx.program.id, p.wallet_id))!)));
    await repo.updatePayment(ctx.trx, p.id, { status, captured_points: points, captured_minor: amount, post_operation_id: p.reservation_post_operation_id, updated_at: ctx.now });
  } else {
    await repo.updatePayment(ctx.trx, p.id, { status, updated_at: ctx.now });
  }
  return (await repo.lockPayment(ctx.trx, ctx.program.id, p.id))!;
}

export type PaymentRef = { paymentId: string } | { orderId: string };

async function lockRef(ctx: LedgerContext, ref: PaymentRef) {
  const row = 'paymentId' in ref
    ? await repo.lockPayment(ctx.trx, ctx.program.id, ref.paymentId)
    : await repo.lockLivePaymentOfOrder(ctx.trx, ctx.program.id, ref.orderId);
  if (!row) throw new ProblemError('points_payment_not_found', 'paymentId' in ref ? `no points payment ${ref.paymentId}` : `order ${ref.orderId} has no live points payment`);
  return syncFromLedger(ctx, row);
}

/** The order was paid: the reserved points are spent (all, or for a smaller final amount, the rest released). */
export async function capturePointsPayment(ctx: LedgerContext, ref: PaymentRef, input: { amountMinor?: number; orderTotalMinor?: number } = {}) {
  const p = await lockRef(ctx, ref);
  const status = effectiveStatus(p, ctx.now);
  if (status === 'expired') throw new ProblemError('points_payment_expired', `the points reservation of payment ${p.id} timed out at ${p.reservation_expires_at.toISOString()}`, { paymentId: p.id });
  if (status !== 'reserved') throw new ProblemError('points_payment_not_reserved', `points payment ${p.id} is ${status}`, { paymentId: p.id, status });
  const amount = input.amountMinor ?? p.amount_minor;
  if (amount > p.amount_minor) {
    throw new ProblemError('points_payment_over_limit', `${amount} exceeds the ${p.amount_minor} reserved for this payment`, { maxAmountMinor: p.amount_minor });
  }
  const orderTotal = input.orderTotalMinor ?? p.order_total_minor;
  if (amount > orderTotal) throw new ProblemError('points_payment_over_limit', `${amount} exceeds the order total ${orderTotal}`, { maxAmountMinor: orderTotal });
  const settings = (await repo.findSettings(ctx.trx, ctx.program.id, p.wallet_id))!;
  const points = amount === p.amount_minor ? p.points : Math.min(p.points, pointsForAmount(amount, limitsOf(settings)));
  const posted = await ledger.postReservation(ctx, { reservationId: p.reservation_id, amount: points, reference: { type: 'order', id: p.order_id } });
  await repo.updatePayment(ctx.trx, p.id, {
    status: 'captured', captured_points: points, captured_minor: amount, order_total_minor: orderTotal, post_operation_id: posted.operation.id, updated_at: ctx.now,
  });
  return paymentView((await repo.findPayment(ctx.trx, ctx.program.id, p.id))!, ctx.now);
}

/** The checkout was abandoned or the order cancelled before payment: the points go back. Repeating it is harmless. */
export async function cancelPointsPayment(ctx: LedgerContext, ref: PaymentRef) {
  const p = await lockRef(ctx, ref);
  const status = effectiveStatus(p, ctx.now);
  if (status === 'captured') {
    throw new ProblemError('points_payment_not_reserved', `points payment ${p.id} is captured; refund it instead`, { paymentId: p.id, status });
  }
  if (status === 'reserved') {
    await ledger.voidReservation(ctx, { reservationId: p.reservation_id });
    await repo.updatePayment(ctx.trx, p.id, { status: 'cancelled', updated_at: ctx.now });
  } else if (p.status !== status) {
    await repo.updatePayment(ctx.trx, p.id, { status, updated_at: ctx.now });
  }
  return paymentView((await repo.findPayment(ctx.trx, ctx.program.id, p.id))!, ctx.now);
}

/**
 * A (partial) refund of the order: points come back in proportion to the refunded share of
 * the order total, computed on the running total so that all refunds together give back
 * exactly what was captured.
 */
export async function refundPointsPayment(ctx: LedgerContext, ref: PaymentRef, input: { refundMinor: number }) {
  const p = await lockRef(ctx, ref);
  if (p.status !== 'captured') {
    throw new ProblemError('points_payment_not_captured', `points payment ${p.id} is ${effectiveStatus(p, ctx.now)}`, { paymentId: p.id });
  }
  if (p.refunded_minor + input.refundMinor > p.order_total_minor) {
    throw new ProblemError('points_refund_exceeds_order', `${p.refunded_minor} of ${p.order_total_minor} already refunded; ${input.refundMinor} more is too much`, {
      refundedMinor: p.refunded_minor, orderTotalMinor: p.order_total_minor,
    });
  }
  invariant(p.post_operation_id, `captured payment ${p.id} has its post`);
  const refunded = p.refunded_minor + input.refundMinor;
  // Owed in total after this refund, less what is back already by any path (an order refund
  // through the orders API restores the same post): the two never give back twice.
  const owed = pointsToRestore(p.captured_points, p.order_total_minor, 0, refunded);
  const already = await repo.restoredOfOperation(ctx.trx, p.post_operation_id);
  const points = Math.max(0, owed - already);
  invariant(already + points <= p.captured_points, 'refunds restore no more than was captured');
  if (points > 0) {
    await ledger.restore(ctx, { operationId: p.post_operation_id, amount: points, reference: { type: 'order', id: p.order_id }, description: 'Order refund: points paid back' });
  }
  await repo.updatePayment(ctx.trx, p.id, { refunded_minor: refunded, restored_points: already + points, updated_at: ctx.now });
  await recordEvent(ctx.trx, ctx.program.id, 'points_payment.refunded', p.member_id, {
    memberId: p.member_id, paymentId: p.id, orderId: p.order_id, refundMinor: input.refundMinor, restoredPoints: points,
  });
  return { payment: paymentView((await repo.findPayment(ctx.trx, ctx.program.id, p.id))!, ctx.now), restoredPoints: points };
}

export async function getPointsPayment(ctx: LedgerContext, id: string) {
  const p = await repo.findPayment(ctx.trx, ctx.program.id, id);
  if (!p) throw new ProblemError('points_payment_not_found');
  return paymentView(p, ctx.now);
}

export async function pointsPaymentsOfOrder(ctx: LedgerContext, orderId: string) {
  return (await repo.listPaymentsOfOrder(ctx.trx, ctx.program.id, orderId)).map((p) => paymentView(p, ctx.now));
}
