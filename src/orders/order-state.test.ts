import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveOrderState, type OrderDetails, type OrderEventRecord } from './order-state.ts';

const details = (extra: Partial<OrderDetails> = {}): OrderDetails => ({
  currency: 'USD', lines: [{ id: 'a', quantity: 2, unitPriceMinor: 1000 }, { id: 'b', quantity: 1, unitPriceMinor: 3000 }], ...extra,
});
const at = (minute: number) => new Date(Date.UTC(2025, 2, 14, 12, minute));

const events: OrderEventRecord[] = [
  { eventId: 'e1', type: 'created', occurredAt: at(0), order: details({ placedAt: at(0).toISOString() }) },
  { eventId: 'e2', type: 'paid', occurredAt: at(1), order: details({ placedAt: at(0).toISOString(), shippingMinor: 500 }) },
  { eventId: 'e3', type: 'fulfilled', occurredAt: at(5) },
  { eventId: 'e4', type: 'refunded', occurredAt: at(9), refund: { lines: [{ lineId: 'a', quantity: 1 }] } },
];

describe('deriveOrderState', () => {
  it('derives status, times and details from the events', () => {
    const s = deriveOrderState(events, 'web');
    expect(s.status).toBe('partially_refunded');
    expect(s.detailsEventId).toBe('e2');
    expect(s.details?.shippingMinor).toBe(500);
    expect([s.placedAt, s.paidAt, s.fulfilledAt, s.cancelledAt]).toEqual([at(0), at(1), at(5), null]);
    expect(s.shares?.refundedMinor).toBe(1000);
  });

  it('gives each status in turn', () => {
    expect(deriveOrderState(events.slice(0, 1), null).status).toBe('pending');
    expect(deriveOrderState(events.slice(0, 2), null).status).toBe('paid');
    expect(deriveOrderState(events.slice(0, 3), null).status).toBe('fulfilled');
    expect(deriveOrderState([...events, { eventId: 'e5', type: 'refunded', occurredAt: at(10), refund: { full: true } }], null).status).toBe('refunded');
    expect(deriveOrderState([...events, { eventId: 'e6', type: 'cancelled', occurredAt: at(11) }], null).status).toBe('cancelled');
  });

  it('uses the earliest event time when the order has no placedAt', () => {
    const s = deriveOrderState([{ eventId: 'x', type: 'refunded', occurredAt: at(30), refund: { amountMinor: 5 } }, { eventId: 'y', type: 'paid', occurredAt: at(20), order: details() }], null);
    expect(s.placedAt).toEqual(at(20));
    expect(s.paidAt).toEqual(at(20));
  });

  it('is the same for every arrival order and for duplicates', () => {
    const reference = deriveOrderState(events, 'web');
    fc.assert(fc.property(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), fc.array(fc.nat(events.length - 1), { maxLength: 4 }), (shuffled, dups) => {
      // The set of received events dedupes by event id: a duplicate delivery is the same event.
      const delivered = [...shuffled, ...dups.map((i) => events[i]!)];
      const unique = [...new Map(delivered.map((e) => [e.eventId, e])).values()];
      expect(deriveOrderState(unique, 'web')).toEqual(reference);
    }));
  });
});
