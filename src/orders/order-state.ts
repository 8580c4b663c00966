import type { OrderEventType, OrderStatus } from '../db/schema.ts';
import type { OrderInput } from '../rules/evaluate-order.ts';
import { lineValues } from '../rules/evaluate-order.ts';
import { refundShares, type Shares } from './refund-share.ts';

export interface OrderLineDetails {
  id: string;
  sku?: string;
  productId?: string;
  categories?: string[];
  tags?: string[];
  quantity: number;
  unitPriceMinor: number;
  discountMinor?: number;
  giftCard?: boolean;
}

export interface CustomerKeys {
  memberId?: string;
  customerId?: string;
  email?: string;
  phone?: string;
}

export interface PointsPayment {
  /** Money value paid with points; earns nothing by default. */
  amountMinor: number;
  /** The spend or posted reservation ("post") operation that took the points. */
  operationId?: string;
  /** Or the reservation: posted when the order is paid, voided when it is cancelled first. */
  reservationId?: string;
}

/** The order as the shop describes it in an event (validated). */
export interface OrderDetails {
  placedAt?: string;
  currency: string;
  channel?: string;
  customer?: CustomerKeys;
  lines: OrderLineDetails[];
  discountMinor?: number;
  shippingMinor?: number;
  taxMinor?: number;
  paidWithPoints?: PointsPayment;
}

export interface RefundDetails {
  lines?: { lineId: string; quantity: number }[];
  amountMinor?: number;
  shippingMinor?: number;
  full?: boolean;
}

export interface OrderEventRecord {
  eventId: string;
  type: OrderEventType;
  occurredAt: Date;
  order?: OrderDetails;
  refund?: RefundDetails;
}

export interface OrderState {
  status: OrderStatus;
  details: OrderDetails | null;
  detailsEventId: string | null;
  placedAt: Date;
  paidAt: Date | null;
  fulfilledAt: Date | null;
  cancelledAt: Date | null;
  refunds: { eventId: string; occurredAt: Date; lines: { lineId: string; quantity: number }[]; amountMinor: number; full: boolean }[];
  /** What is left after refunds and cancellation; null until the details are known. */
  shares: Shares | null;
}

// The details that describe "the order as paid": a paid event's, else created's, else fulfilled's;
// a cancellation's or refund's only when no other event described the order.
const DETAIL_PREFERENCE: Record<OrderEventType, number> = { paid: 4, created: 3, fulfilled: 2, cancelled: 1, refunded: 1 };

function earliest(events: readonly OrderEventRecord[], type: OrderEventType): Date | null {
  let found: Date | null = null;
  for (const e of events) if (e.type === type && (!found || e.occurredAt < found)) found = e.occurredAt;
  return found;
}

function compareEvents(a: OrderEventRecord, b: OrderEventRecord): number {
  return a.occurredAt.getTime() - b.occurredAt.getTime() || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

/** The order's details as the rules see them. */
export function orderInput(details: OrderDetails, placedAt: Date, store: string | null): OrderInput {
  return {
    placedAt,
    store,
    channel: details.channel ?? null,
    lines: details.lines.map((l) => ({
      id: l.id, sku: l.sku ?? null, productId: l.productId ?? null, categories: l.categories ?? [], tags: l.tags ?? [],
      quantity: l.quantity, unitPriceMinor: l.unitPriceMinor, discountMinor: l.discountMinor ?? 0, giftCard: l.giftCard ?? false,
    })),
    discountMinor: details.discountMinor ?? 0,
    shippingMinor: details.shippingMinor ?? 0,
    taxMinor: details.taxMinor ?? 0,
    paidWithPointsMinor: details.paidWithPoints?.amountMinor ?? 0,
  };
}

/**
 * The order as a function of the SET of its events, whatever order they arrived in: a refund
 * before the payment, a payment twice, a cancellation after fulfilment all give the state that
 * in-order delivery gives.
 */
export function deriveOrderState(events: readonly OrderEventRecord[], store: string | null): OrderState {
  const sorted = [...events].sort(compareEvents);
  let detailsEvent: OrderEventRecord | null = null;
  for (const e of sorted) {
    if (!e.order) continue;
    // Later in the sort wins among equal preference: the latest description of the order as paid.
    if (!detailsEvent || DETAIL_PREFERENCE[e.type] >= DETAIL_PREFERENCE[detailsEvent.type]) detailsEvent = e;
  }
  const details = detailsEvent?.order ?? null;
  const placedAt = details?.placedAt ? new Date(details.placedAt) : sorted[0]!.occurredAt;
  const refunds = sorted
    .filter((e) => e.type === 'refunded')
    .map((e) => ({ eventId: e.eventId, occurredAt: e.occurredAt, lines: e.refund?.lines ?? [], amountMinor: e.refund?.amountMinor ?? 0, full: e.refund?.full ?? false }));
  const paidAt = earliest(sorted, 'paid');
  const fulfilledAt = earliest(sorted, 'fulfilled');
  const cancelledAt = earliest(sorted, 'cancelled');

  let shares: Shares | null = null;
  if (details) {
    const quantities: Record<string, number> = {};
    for (const r of refunds) for (const l of r.lines) quantities[l.lineId] = (quantities[l.lineId] ?? 0) + l.quantity;
    const values = lineValues(orderInput(details, placedAt, store));
    shares = refundShares(
      details.lines.map((l, i) => ({ id: l.id, quantity: l.quantity, moneyMinor: values[i]!.money })),
      { quantities, amountMinor: refunds.reduce((s, r) => s + r.amountMinor, 0), full: cancelledAt !== null || refunds.some((r) => r.full) },
    );
  }

  let status: OrderStatus = 'pending';
  if (cancelledAt) status = 'cancelled';
  else if (shares?.fully || (refunds.some((r) => r.full))) status = 'refunded';
  else if (shares && !shares.none) status = 'partially_refunded';
  else if (fulfilledAt) status = 'fulfilled';
  else if (paidAt) status = 'paid';
  return { status, details, detailsEventId: detailsEvent?.eventId ?? null, placedAt, paidAt, fulfilledAt, cancelledAt, refunds, shares };
}
