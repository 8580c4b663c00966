import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setupTestApp, TestClock } from '../helpers.ts';
import { expectLedgerOk, memberWith } from './reward-fixtures.ts';

const START = '2025-06-02T16:00:00Z';

describe('pay with points', async () => {
  const clock = new TestClock(new Date(START));
  const t = await setupTestApp({ clock });

  const balance = async (memberId: string) => {
    const b = (await t.call('GET', `/v1/members/${memberId}/balances/points`)).body;
    return { available: b.available, reserved: b.reserved };
  };
  const create = (body: Record<string, unknown>, idempotencyKey = randomUUID()) => t.call('POST', '/v1/checkout/points-payments', { body, idempotencyKey });
  const act = (id: string, action: 'capture' | 'cancel' | 'refund', body?: Record<string, unknown>) => t.call('POST', `/v1/checkout/points-payments/${id}/${action}`, { body });

  it('is not available before it is set up', async () => {
    const m = await memberWith(t, 1000);
    const res = await create({ memberId: m.id, orderId: 'o-0', orderTotalMinor: 5000, amountMinor: 1000 });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('points_payment_not_configured');
  });

  it('configures the rate and limits per wallet', async () => {
    const res = await t.call('PUT', '/v1/points-payments/settings/points', {
      body: { ratePoints: 100, rateAmountMinor: 100, minimumPoints: 500, maxSharePercent: 50, timeoutMs: 600_000 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ wallet: 'points', enabled: true, ratePoints: 100, rateAmountMinor: 100, minimumPoints: 500, maxSharePercent: 50, timeoutMs: 600_000 });
    expect((await t.call('GET', '/v1/points-payments/settings')).body.data).toHaveLength(1);
    expect((await t.call('PUT', '/v1/points-payments/settings/nope', { body: { ratePoints: 1, rateAmountMinor: 1 } })).body.code).toBe('unknown_wallet');
    expect((await t.call('PUT', '/v1/points-payments/settings/points', { body: { ratePoints: 1, rateAmountMinor: 1, maxSharePercent: 101 } })).status).toBe(400);
  });

  it('quotes what the member can pay', async () => {
    const m = await memberWith(t, 3000);
    const q = await t.call('POST', '/v1/checkout/points-payments/quote', { body: { memberId: m.id, orderTotalMinor: 10_000 } });
    expect(q.body).toMatchObject({ availablePoints: 3000, maxAmountMinor: 3000, maxPoints: 3000, minimumPoints: 500, eligible: true, maxSharePercent: 50 });
    const capped = await t.call('POST', '/v1/checkout/points-payments/quote', { body: { memberId: m.id, orderTotalMinor: 4000 } });
    expect(capped.body).toMatchObject({ maxAmountMinor: 2000, maxPoints: 2000 });
  });

  it('reserve → capture → partial refunds restore proportionally, exactly once', async () => {
    const m = await memberWith(t, 5000);
    const res = await create({ memberId: m.id, orderId: 'order-100', orderTotalMinor: 10_000, amountMinor: 2000 });
    expect(res.status).toBe(201);
    const p = res.body;
    expect(p).toMatchObject({ status: 'reserved', points: 2000, amountMinor: 2000, orderTotalMinor: 10_000, orderId: 'order-100' });
    expect(await balance(m.id)).toEqual({ available: 3000, reserved: 2000 });
    const reservation = await t.call('GET', `/v1/reservations/${p.reservationId}`);
    expect(reservation.body).toMatchObject({ status: 'pending', amount: 2000, reference: { type: 'order', id: 'order-100' } });
    expect(new Date(reservation.body.expiresAt).getTime()).toBe(Date.parse(START) + 600_000);

    const dup = await create({ memberId: m.id, orderId: 'order-100', orderTotalMinor: 10_000, amountMinor: 500 });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ code: 'points_payment_exists', paymentId: p.id });

    const captured = await act(p.id, 'capture');
    expect(captured.status).toBe(200);
    expect(captured.body).toMatchObject({ status: 'captured', capturedPoints: 2000, capturedMinor: 2000 });
    expect(await balance(m.id)).toEqual({ available: 3000, reserved: 0 });
    expect((await act(p.id, 'capture')).body.code).toBe('points_payment_not_reserved');
    expect((await act(p.id, 'cancel')).body.code).toBe('points_payment_not_reserved');

    // Refund 30 % of the order: 30 % of the points come back.
    const r1 = await act(p.id, 'refund', { refundMinor: 3000 });
    expect(r1.body).toMatchObject({ restoredPoints: 600, payment: { refundedMinor: 3000, restoredPoints: 600 } });
    // A retry with the same key gives back nothing more.
    const key = randomUUID();
    const r2 = await t.call('POST', `/v1/checkout/points-payments/${p.id}/refund`, { body: { refundMinor: 3333 }, idempotencyKey: key });
    const r2again = await t.call('POST', `/v1/checkout/points-payments/${p.id}/refund`, { body: { refundMinor: 3333 }, idempotencyKey: key });
    expect(r2again.body).toEqual(r2.body);
    expect(r2.body.restoredPoints).toBe(666);
    const tooMuch = await act(p.id, 'refund', { refundMinor: 3668 });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.code).toBe('points_refund_exceeds_order');
    const rest = await act(p.id, 'refund', { refundMinor: 3667 });
    expect(rest.body.restoredPoints).toBe(2000 - 600 - 666);
    expect(await balance(m.id)).toEqual({ available: 5000, reserved: 0 });
    const post = await t.call('GET', `/v1/operations/${captured.body.postOperationId}`);
    expect(post.body).toMatchObject({ kind: 'post', amount: 2000, restored: 2000 });
    await expectLedgerOk(t);
  });

  it('a smaller final amount posts fewer points and releases the rest', async () => {
    const m = await memberWith(t, 5000);
    const p = (await create({ memberId: m.id, orderId: 'order-101', orderTotalMinor: 8000, amountMinor: 4000 })).body;
    expect((await act(p.id, 'capture', { amountMinor: 4001 })).body.code).toBe('points_payment_over_limit');
    const captured = await act(p.id, 'capture', { amountMinor: 2500, orderTotalMinor: 6000 });
    expect(captured.body).toMatchObject({ status: 'captured', capturedPoints: 2500, capturedMinor: 2500, orderTotalMinor: 6000 });
    expect(await balance(m.id)).toEqual({ available: 2500, reserved: 0 });
    expect((await act(p.id, 'refund', { refundMinor: 6000 })).body.restoredPoints).toBe(2500);
    expect(await balance(m.id)).toEqual({ available: 5000, reserved: 0 });
  });

  it('cancel voids the reservation; a new payment for the order may follow', async () => {
    const m = await memberWith(t, 2000);
    const p = (await create({ memberId: m.id, orderId: 'order-102', orderTotalMinor: 5000, points: 1000 })).body;
    expect(p).toMatchObject({ points: 1000, amountMinor: 1000 });
    expect(await balance(m.id)).toEqual({ available: 1000, reserved: 1000 });
    const cancelled = await act(p.id, 'cancel');
    expect(cancelled.body.status).toBe('cancelled');
    expect(await balance(m.id)).toEqual({ available: 2000, reserved: 0 });
    expect((await act(p.id, 'cancel')).body.status).toBe('cancelled');
    expect((await act(p.id, 'capture')).body.code).toBe('points_payment_not_reserved');
    expect((await act(p.id, 'refund', { refundMinor: 100 })).body.code).toBe('points_payment_not_captured');
    const next = await create({ memberId: m.id, orderId: 'order-102', orderTotalMinor: 5000 });
    expect(next.status).toBe(201);
    expect(next.body).toMatchObject({ points: 2000, amountMinor: 2000 });
    const list = await t.call('GET', '/v1/checkout/points-payments?orderId=order-102');
    expect(list.body.data.map((x: { status: string }) => x.status)).toEqual(['cancelled', 'reserved']);
  });

  it('an unpaid reservation expires after the timeout: points back, capture refused', async () => {
    const m = await memberWith(t, 2000);
    const p = (await create({ memberId: m.id, orderId: 'order-103', orderTotalMinor: 5000, amountMinor: 1500, timeoutMs: 60_000 })).body;
    clock.advance(60_000);
    expect((await t.call('GET', `/v1/checkout/points-payments/${p.id}`)).body.status).toBe('expired');
    const late = await act(p.id, 'capture');
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('points_payment_expired');
    expect(await balance(m.id)).toEqual({ available: 2000, reserved: 0 });
    expect((await t.call('GET', `/v1/reservations/${p.reservationId}`)).body.status).toBe('expired');
    const again = await create({ memberId: m.id, orderId: 'order-103', orderTotalMinor: 5000, amountMinor: 1500 });
    expect(again.status).toBe(201);
    expect((await act(again.body.id, 'capture')).body.status).toBe('captured');
    clock.set(START);
    await expectLedgerOk(t);
  });

  it('limits: minimum points, maximum share, balance — refused with nothing reserved', async () => {
    const m = await memberWith(t, 3000);
    const below = await create({ memberId: m.id, orderId: 'order-104', orderTotalMinor: 10_000, points: 499 });
    expect(below.status).toBe(422);
    expect(below.body).toMatchObject({ code: 'points_payment_below_minimum', minimumPoints: 500 });
    const over = await create({ memberId: m.id, orderId: 'order-104', orderTotalMinor: 10_000, amountMinor: 5001 });
    expect(over.body).toMatchObject({ code: 'points_payment_over_limit', maxAmountMinor: 5000 });
    const poor = await create({ memberId: m.id, orderId: 'order-104', orderTotalMinor: 10_000, amountMinor: 4000 });
    expect(poor.body.code).toBe('insufficient_points');
    expect((await create({ memberId: m.id, orderId: 'order-104', orderTotalMinor: 10_000, amountMinor: 100, points: 100 })).status).toBe(400);
    expect(await balance(m.id)).toEqual({ available: 3000, reserved: 0 });
    expect((await t.call('GET', '/v1/checkout/points-payments?orderId=order-104')).body.data).toEqual([]);
  });

  it('a rate such as 75 points = $10 charges whole points for whole cents', async () => {
    const program = await t.newProgram();
    await t.call('PUT', '/v1/points-payments/settings/points', { body: { ratePoints: 75, rateAmountMinor: 1000 }, key: program.key });
    const m = await t.member({}, program);
    await t.earn(m.id, 160, {}, program);
    const res = await t.call('POST', '/v1/checkout/points-payments', { body: { memberId: m.id, orderId: 'o-1', orderTotalMinor: 5000 }, key: program.key });
    // 160 points pay floor(160 × 1000 / 75) = 2133 cents, for which ceil(2133 × 75 / 1000) = 160 points.
    expect(res.body).toMatchObject({ amountMinor: 2133, points: 160 });
    const n = await t.member({}, program);
    await t.earn(n.id, 10, {}, program);
    const small = await t.call('POST', '/v1/checkout/points-payments', { body: { memberId: n.id, orderId: 'o-2', orderTotalMinor: 5000, points: 1 }, key: program.key });
    expect(small.body).toMatchObject({ points: 1, amountMinor: 13 });
    // An order of 5 cents at 10 % lets points pay nothing (0 cents): refused.
    await t.call('PUT', '/v1/points-payments/settings/points', { body: { ratePoints: 75, rateAmountMinor: 1000, maxSharePercent: 10 }, key: program.key });
    const tiny = await t.call('POST', '/v1/checkout/points-payments', { body: { memberId: n.id, orderId: 'o-3', orderTotalMinor: 5 }, key: program.key });
    expect(tiny.body).toMatchObject({ code: 'points_payment_below_minimum', amountMinor: 0 });
  });

  it('follows the ledger when another path (the orders API) posts and restores the reservation: never twice', async () => {
    const m = await memberWith(t, 4000);
    const p = (await create({ memberId: m.id, orderId: 'order-105', orderTotalMinor: 10_000, amountMinor: 4000 })).body;
    // The order was paid through the orders API, which posts paidWithPoints.reservationId itself.
    const posted = await t.call('POST', `/v1/reservations/${p.reservationId}/post`);
    expect(posted.status).toBe(200);
    expect((await t.call('GET', `/v1/checkout/points-payments/${p.id}`)).body.status).toBe('captured');
    expect((await act(p.id, 'capture')).body.code).toBe('points_payment_not_reserved');
    // Half the order refunded there first: 2000 points restored by the orders path.
    await t.call('POST', `/v1/operations/${posted.body.operation.id}/restore`, { body: { amount: 2000 } });
    const here = await act(p.id, 'refund', { refundMinor: 5000 });
    expect(here.body).toMatchObject({ restoredPoints: 0, payment: { status: 'captured', capturedPoints: 4000, restoredPoints: 2000, refundedMinor: 5000 } });
    const rest = await act(p.id, 'refund', { refundMinor: 5000 });
    expect(rest.body.restoredPoints).toBe(2000);
    expect(await balance(m.id)).toEqual({ available: 4000, reserved: 0 });
    await expectLedgerOk(t);
  });

  it('concurrent payments on one balance never overdraw it', async () => {
    const m = await memberWith(t, 2500);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => create({ memberId: m.id, orderId: `order-c-${i}`, orderTotalMinor: 10_000, amountMinor: 1000 })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    expect(results.filter((r) => r.status === 422).every((r) => r.body.code === 'insufficient_points')).toBe(true);
    expect(await balance(m.id)).toEqual({ available: 500, reserved: 2000 });
    await expectLedgerOk(t);
  });
});
