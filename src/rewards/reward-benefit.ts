import type { RewardKind } from '../db/schema.ts';
import { ProblemError } from '../http/error-codes.ts';

/** What a reward gives; the fields that apply depend on its kind (see docs/rewards.md). */
export interface Benefit {
  /** fixed_amount, gift_note: money off the order, minor units */
  amountOffMinor?: number;
  /** percentage: 1–100 % of the cart subtotal */
  percent?: number;
  /** percentage: cap of the discount, minor units */
  maxDiscountMinor?: number;
  /** fixed_amount, gift_note, percentage, free_shipping: the cart subtotal must reach this */
  minimumOrderMinor?: number;
  /** free_shipping: at most this much shipping is waived */
  maxShippingMinor?: number;
  /** free_product */
  sku?: string;
  quantity?: number;
  /** store_credit: the wallet credited and the amount, in that wallet's unit */
  wallet?: string;
  amount?: number;
  /** donation: the cause the points go to (running totals per cause) */
  cause?: string;
  /** experience */
  eventAt?: string;
  location?: string;
  /** custom: what the merchant does, shown to staff */
  instructions?: string;
}

const FIELDS: Record<RewardKind, { required: (keyof Benefit)[]; optional: (keyof Benefit)[] }> = {
  fixed_amount: { required: ['amountOffMinor'], optional: ['minimumOrderMinor'] },
  gift_note: { required: ['amountOffMinor'], optional: ['minimumOrderMinor'] },
  percentage: { required: ['percent'], optional: ['maxDiscountMinor', 'minimumOrderMinor'] },
  free_shipping: { required: [], optional: ['maxShippingMinor', 'minimumOrderMinor'] },
  free_product: { required: ['sku'], optional: ['quantity'] },
  store_credit: { required: ['wallet', 'amount'], optional: [] },
  donation: { required: ['cause'], optional: [] },
  experience: { required: [], optional: ['eventAt', 'location'] },
  custom: { required: [], optional: ['instructions'] },
};

/** Kinds whose voucher is a discount applied to a cart at checkout. */
export const CART_KINDS: ReadonlySet<RewardKind> = new Set(['fixed_amount', 'gift_note', 'percentage', 'free_shipping', 'free_product']);
/** Kinds that issue a voucher (a code) on redemption. */
export const VOUCHER_KINDS: ReadonlySet<RewardKind> = new Set([...CART_KINDS, 'experience']);

function positiveInt(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw new ProblemError('validation_failed', `benefit.${name} must be an integer from 1 to ${max}`);
  }
  return value as number;
}

/** Checks a benefit against its kind: required fields present, no field of another kind. */
export function parseBenefit(kind: RewardKind, raw: Record<string, unknown> | undefined): Benefit {
  const input = raw ?? {};
  const spec = FIELDS[kind];
  const allowed = new Set<string>([...spec.required, ...spec.optional]);
  for (const key of Object.keys(input)) {
    if (input[key] !== undefined && !allowed.has(key)) {
      throw new ProblemError('validation_failed', `benefit.${key} does not apply to a ${kind} reward (it takes: ${[...allowed].join(', ') || 'nothing'})`);
    }
  }
  for (const key of spec.required) {
    if (input[key] === undefined || input[key] === null) {
      throw new ProblemError('validation_failed', `a ${kind} reward needs benefit.${key}`);
    }
  }
  const out: Benefit = {};
  if (input.amountOffMinor !== undefined) out.amountOffMinor = positiveInt(input.amountOffMinor, 'amountOffMinor');
  if (input.percent !== undefined) out.percent = positiveInt(input.percent, 'percent', 100);
  if (input.maxDiscountMinor !== undefined) out.maxDiscountMinor = positiveInt(input.maxDiscountMinor, 'maxDiscountMinor');
  if (input.minimumOrderMinor !== undefined) out.minimumOrderMinor = positiveInt(input.minimumOrderMinor, 'minimumOrderMinor');
  if (input.maxShippingMinor !== undefined) out.maxShippingMinor = positiveInt(input.maxShippingMinor, 'maxShippingMinor');
  if (input.quantity !== undefined) out.quantity = positiveInt(input.quantity, 'quantity', 1000);
  if (input.amount !== undefined) out.amount = positiveInt(input.amount, 'amount');
  for (const key of ['sku', 'wallet', 'cause', 'eventAt', 'location', 'instructions'] as const) {
    const value = input[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0 || value.length > 1000) {
      throw new ProblemError('validation_failed', `benefit.${key} must be a non-empty string`);
    }
    out[key] = value;
  }
  if (out.cause !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(out.cause)) {
    throw new ProblemError('validation_failed', 'benefit.cause is a code: letters, digits, "_", "." or "-", up to 64');
  }
  if (out.wallet !== undefined && !/^[a-z][a-z0-9_]{0,31}$/.test(out.wallet)) {
    throw new ProblemError('validation_failed', 'benefit.wallet is a wallet code');
  }
  if (out.eventAt !== undefined && Number.isNaN(Date.parse(out.eventAt))) {
    throw new ProblemError('validation_failed', 'benefit.eventAt must be an ISO date-time');
  }
  if (kind === 'free_product') out.quantity ??= 1;
  return out;
}
