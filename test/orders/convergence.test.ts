import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp, TestClock } from '../helpers.ts';
import { balance, createRule, expectLedgerOk, sendEvent, uniqueId } from './order-helpers.ts';

const START = new Date('2031-03-03T12:00:00Z');

/**
 * Out-of-order and duplicate delivery converge: any permutation of an order's events, with any
 * events sent twice, ends with the balances, order state and progress of in-order delivery.
 */
describe('order event convergence', async () => {
  const clock = new TestClock(START);
  const t = await setupTestApp({
    clock,
    program: { wallets: [{ code: 'points', name: 'Points', pendingDays: 7 }, { code: 'cashback', name: 'Cashback', unit: 'currency', expiry: { kind: 'days_after_earn', count: 90 } }] },
  });
  await createRule(t, 'base_rate', { points: 1, perAmountMinor: 100 });
  await createRule(t, 'multiplier', { percent: 200, lines: { tags: ['club'] } });
  await createRule(t, 'extra_points', { points: 100, per: 'order', conditions: { orderNumber: { equals: 1 } } });
  await createRule(t, 'cashback', { rateBasisPoints: 300 });
  await createRule(t, 'threshold', { everyAmountMinor: 5000, points: 25 });
  // Orders are placed two days after the rules took effect; payment + 7 days is still ahead: pending.
  clock.set(new Date(START.getTime() + 5 * DAY));
  const at = (hours: number) => new Date(START.getTime() + 2 * DAY + hours * 3_600_000).toISOString();

  const lines = [
    { id: 'a', sku: 'A', tags: ['club'], quantity: 3, unitPriceMinor: 2000 },
    { id: 'b', sku: 'B', quantity: 1, unitPriceMinor: 3500 },
    { id: 'c', sku: 'C', quantity: 2, unitPriceMinor: 750 },
  ];

  /** The full history of one order, in the order it happened. */
  function history(memberId: string, spendOperationId: string) {
    const order = { currency: 'USD', placedAt: at(0), customer: { memberId }, lines, shippingMinor: 499, paidWithPoints: { amountMinor: 2000, operationId: spendOperationId } };
    return [
      { eventId: 'created', type: 'created', occurredAt: at(0), order },
      { eventId: 'paid', type: 'paid', occurredAt: at(1), order },
      { eventId: 'fulfilled', type: 'fulfilled', occurredAt: at(20) },
      { eventId: 'refund-a', type: 'refunded', occurredAt: at(30), refund: { lines: [{ lineId: 'a', quantity: 1 }] } },
      { eventId: 'refund-amount', type: 'refunded', occurredAt: at(31), refund: { amountMinor: 1234 } },
      { eventId: 'refund-c', type: 'refunded', occurredAt: at(40), refund: { lines: [{ lineId: 'c', quantity: 2 }] } },
      { eventId: 'cancel', type: 'cancelled', occurredAt: at(50) },
    ];
  }

  async function outcome(memberId: string, orderId: string) {
    const order = (await t.call('GET', `/v1/orders/lookup?orderId=${orderId}`)).body;
    const points = await balance(t, memberId);
    const cashback = await balance(t, memberId, 'cashback');
    const progress = (await t.call('GET', `/v1/members/${memberId}/progress`)).body;
    return {
      status: order.status, refundedMinor: order.refundedMinor, held: order.points.held, expected: order.points.expected,
      points: { available: points.available, pending: points.pending, earned: points.lifetime.earned - points.lifetime.reversed, restored: points.lifetime.restored },
      cashback: { available: cashback.available, pending: cashback.pending },
      progress: progress.current.map((p: { progress: number; reached: number }) => [p.progress, p.reached]),
    };
  }

  async function deliver(events: Record<string, unknown>[]) {
    const member = await t.member();
    await t.earn(member.id, 300);
    const spend = await t.call('POST', `/v1/members/${member.id}/spend`, { body: { amount: 200 } });
    const orderId = uniqueId('order');
    const all = history(member.id, spend.body.operation.id);
    for (const e of events) {
      const res = await sendEvent(t, { orderId, ...all.find((x) => x.eventId === e.eventId)! });
      expect([200, 201]).toContain(res.status);
    }
    return outcome(member.id, orderId);
  }

  it('ends in the in-order result for any permutation with duplicates', async () => {
    const names = history('x', 'y').map((e) => e.eventId);
    const scenario = fc
      .subarray(names.filter((n) => n !== 'paid'))
      .map((subset) => ['paid', ...subset])
      .chain((subset) => fc.record({
        subset: fc.constant(subset),
        shuffled: fc.shuffledSubarray(subset, { minLength: subset.length, maxLength: subset.length }),
        duplicates: fc.array(fc.constantFrom(...subset), { maxLength: 3 }),
        positions: fc.array(fc.nat(20), { maxLength: 3 }),
      }));
    await fc.assert(fc.asyncProperty(scenario, async ({ subset, shuffled, duplicates, positions }) => {
      const inOrder = names.filter((n) => subset.includes(n)).map((eventId) => ({ eventId }));
      const delivered = shuffled.map((eventId) => ({ eventId }));
      duplicates.forEach((eventId, i) => delivered.splice(Math.min(positions[i] ?? 0, delivered.length), 0, { eventId }));
      const expected = await deliver(inOrder);
      const actual = await deliver(delivered);
      expect(actual).toEqual(expected);
    }), { numRuns: 12, seed: 20310303 });
    await expectLedgerOk(t);
  });

  it('gives the expected in-order result (so the property compares real outcomes)', async () => {
    const paidOnly = await deliver([{ eventId: 'paid' }]);
    // 110.00 USD merchandise, 20.00 of it paid with points: 90.00 earns. Base 90 + club ×2 on line a
    // (+49, its share of the base) + first order 100 + one $50 threshold step 25 = 264 pending;
    // 3 % cashback 270 (vested: the cashback wallet has no pending days).
    expect(paidOnly).toMatchObject({ status: 'paid', held: { points: 264, cashback: 270 }, points: { pending: 264, available: 100 }, cashback: { available: 270 }, progress: [[9000, 1]] });
    const full = await deliver(history('x', 'y').filter((e) => e.eventId !== 'cancel'));
    expect(full.status).toBe('partially_refunded');
    expect(full.points.pending).toBeLessThan(paidOnly.points.pending);
    expect(full.points.pending).toBeGreaterThan(0);
    expect(full.cashback.available).toBeLessThan(paidOnly.cashback.available);
    expect(full.points.restored).toBeGreaterThan(0);
    const cancelled = await deliver([{ eventId: 'paid' }, { eventId: 'cancel' }]);
    // Only the 300 points given before the order remain; the 200 paid with came back.
    expect(cancelled).toMatchObject({ status: 'cancelled', held: {}, points: { earned: 300, restored: 200, available: 300, pending: 0 }, cashback: { available: 0, pending: 0 } });
  });
});
