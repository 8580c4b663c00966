import { mulDiv } from './voucher-discount.ts';

/** `ratePoints` points pay for `rateAmountMinor` of money (Carter's: 75 points = 1000 cents). */
export interface ConversionRate {
  ratePoints: number;
  rateAmountMinor: number;
}

export interface PaymentLimits extends ConversionRate {
  minimumPoints: number;
  maxSharePercent: number;
}

/** Money that `points` pay for, rounded down to a whole minor unit. */
export function amountForPoints(points: number, rate: ConversionRate): number {
  return mulDiv(points, rate.rateAmountMinor, rate.ratePoints);
}

/** Points needed to pay `amountMinor`, rounded up: the member never pays a fraction of a cent with nothing. */
export function pointsForAmount(amountMinor: number, rate: ConversionRate): number {
  const n = BigInt(amountMinor) * BigInt(rate.ratePoints);
  const d = BigInt(rate.rateAmountMinor);
  return Number((n + d - 1n) / d);
}

/** The most of this order that points may pay: the share limit, and never more than the order. */
export function maxPayableMinor(orderTotalMinor: number, limits: PaymentLimits): number {
  return mulDiv(orderTotalMinor, limits.maxSharePercent, 100);
}

export interface Quote {
  /** The most the member can pay with points on this order now. */
  maxAmountMinor: number;
  maxPoints: number;
  minimumPoints: number;
  /** False when even the maximum is below the program's minimum. */
  eligible: boolean;
}

export function quote(available: number, orderTotalMinor: number, limits: PaymentLimits): Quote {
  const byShare = maxPayableMinor(orderTotalMinor, limits);
  const byBalance = amountForPoints(Math.max(0, available), limits);
  const maxAmountMinor = Math.min(byShare, byBalance);
  const maxPoints = maxAmountMinor > 0 ? pointsForAmount(maxAmountMinor, limits) : 0;
  return { maxAmountMinor, maxPoints, minimumPoints: limits.minimumPoints, eligible: maxAmountMinor > 0 && maxPoints >= limits.minimumPoints };
}

/**
 * Points to give back for a refund of `refundMinor` of an order of `orderTotalMinor`, of which
 * `capturedPoints` were paid with points and `refundedBeforeMinor` already refunded. Computed on the
 * cumulative refund, so that rounding never drifts: the refunds of a whole order restore exactly
 * the captured points, and never more.
 */
export function pointsToRestore(capturedPoints: number, orderTotalMinor: number, refundedBeforeMinor: number, refundMinor: number): number {
  const before = mulDiv(capturedPoints, refundedBeforeMinor, orderTotalMinor);
  const after = mulDiv(capturedPoints, refundedBeforeMinor + refundMinor, orderTotalMinor);
  return after - before;
}
