import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp, TestClock } from '../helpers.ts';
import { balance, createRule, expectLedgerOk, orderBody, sendOk, uniqueId } from './order-helpers.ts';

const START = new Date('2031-03-03T12:00:00Z');

describe('refunds', async () => {
  const clock = new TestClock(START);
  const t = await setupTestApp({ clock, program: { wallets: [{ code: 'points', name: 'Points', pendingDays: 30 }] } });
  await createRule(t, 'base_rate', { points: 1, perAmountMinor: 100 });
  clock.advance(60_000);
  const at = (minutes: number) => new Date(START.getTime() + 60_000 + minutes * 60_000).toISOString();

  async function paidOrder(memberId: string, lines: { id: string; quantity: number; unitPriceMinor: number }[], extra: Record<string, unknown> = {}) {
    const orderId = uniqueId('o');
    const order = await sendOk(t, { orderId, eventId: 'paid', type: 'paid', occurredAt: at(0), order: orderBody(lines, { customer: { memberId }, ...extra }) });
    return { orderId, order };
  }
  const refund = (orderId: string, eventId: string, r: Record<string, unknown>) => sendOk(t, { orderId, eventId, type: 'refunded', occurredAt: at(10), refund: r });

  it('reverses the refunded lines’ share, while the points are still pending', async () => {
    const m = await t.member();
    const { orderId, order } = await paidOrder(m.id, [{ id: 'a', quantity: 1, unitPriceMinor: 6000 }, { id: 'b', quantity: 1, unitPriceMinor: 4000 }]);
    expect(order.points.held).toEqual({ points: 100 });
    const after = await refund(orderId, 'r1', { lines: [{ lineId: 'b', quantity: 1 }] });
    expect(after).toMatchObject({ status: 'partially_refunded', refundedMinor: 4000, points: { held: { points: 60 } } });
    expect(await balance(t, m.id)).toMatchObject({ pending: 60, available: 0 });
  });

  it('reverses by amount in proportion', async () => {
    const m = await t.member();
    const { orderId } = await paidOrder(m.id, [{ id: 'a', quantity: 1, unitPriceMinor: 10000 }]);
    const after = await refund(orderId, 'r1', { amountMinor: 2550 });
    // 74.50 USD of 100.00 left → 74.5 points → 74: rounding never creates points
    expect(after.points.held).toEqual({ points: 74 });
    const both = await refund(orderId, 'r2', { amountMinor: 7450 });
    expect(both.status).toBe('refunded');
    expect(both.points.held).toEqual({});
  });

  it('never reverses more than the earn, however the refunds are split', async () => {
    const m = await t.member();
    const { orderId } = await paidOrder(m.id, [{ id: 'a', quantity: 3, unitPriceMinor: 334 }]);
    let view = await refund(orderId, 'r1', { lines: [{ lineId: 'a', quantity: 1 }] });
    expect(view.points.held.points).toBe(6); // 10 × 2/3 = 6.67 → 6
    view = await refund(orderId, 'r2', { lines: [{ lineId: 'a', quantity: 1 }] });
    expect(view.points.held.points).toBe(3);
    view = await refund(orderId, 'r3', { lines: [{ lineId: 'a', quantity: 1 }] });
    expect(view.points.held).toEqual({});
    const op = view.points.operations[0];
    expect(op).toMatchObject({ amount: 10, reversed: 10 });
    // A refund beyond the order changes nothing more.
    view = await refund(orderId, 'r4', { amountMinor: 500 });
    expect(view.points.operations[0].reversed).toBe(10);
    const b = await balance(t, m.id);
    expect(b.lifetime.reversed).toBe(10);
    expect(b.lifetime.earned).toBe(10);
  });

  it('claws back vested points that were spent, under the program’s reversal policy', async () => {
    const m = await t.member();
    const { orderId } = await paidOrder(m.id, [{ id: 'a', quantity: 1, unitPriceMinor: 5000 }]);
    clock.advance(31 * DAY);
    expect(await balance(t, m.id)).toMatchObject({ available: 50, pending: 0 });
    expect((await t.call('POST', `/v1/members/${m.id}/spend`, { body: { amount: 40 } })).status).toBe(201);
    const after = await refund(orderId, 'r1', { full: true });
    expect(after.points.held).toEqual({});
    expect(await balance(t, m.id)).toMatchObject({ available: -40 });
    clock.set(new Date(START.getTime() + 60_000));
    await expectLedgerOk(t);
  });

  it('gives points paid with back in proportion to the refund, and all of them on a full refund', async () => {
    const m = await t.member();
    await t.earn(m.id, 500);
    const spend = await t.call('POST', `/v1/members/${m.id}/spend`, { body: { amount: 300, reference: { type: 'checkout', id: 'c1' } } });
    expect(spend.status).toBe(201);
    // 30.00 of a 100.00 order paid with 300 points: the points part earns nothing.
    const { orderId, order } = await paidOrder(m.id, [{ id: 'a', quantity: 1, unitPriceMinor: 6000 }, { id: 'b', quantity: 1, unitPriceMinor: 4000 }], {
      paidWithPoints: { amountMinor: 3000, operationId: spend.body.operation.id },
    });
    expect(order.points.held).toEqual({ points: 70 });
    expect(order.points.breakdown[0].why).toMatch(/the part paid with points/);
    const half = await refund(orderId, 'r1', { lines: [{ lineId: 'b', quantity: 1 }] });
    expect(half.points.held).toEqual({ points: 42 });
    let op = await t.call('GET', `/v1/operations/${spend.body.operation.id}`);
    expect(op.body.restored).toBe(120); // 40 % of the order refunded → 40 % of 300
    expect((await balance(t, m.id)).available).toBe(200 + 120);
    await refund(orderId, 'r2', { full: true });
    op = await t.call('GET', `/v1/operations/${spend.body.operation.id}`);
    expect(op.body.restored).toBe(300);
    expect(await balance(t, m.id)).toMatchObject({ available: 500, pending: 0 });
    // Resending the refund restores nothing twice.
    await refund(orderId, 'r2', { full: true });
    expect((await t.call('GET', `/v1/operations/${spend.body.operation.id}`)).body.restored).toBe(300);
  });

  it('posts a points reservation when the order is paid and voids it when the order is cancelled first', async () => {
    const m = await t.member();
    await t.earn(m.id, 1000);
    const r1 = await t.call('POST', `/v1/members/${m.id}/reservations`, { body: { amount: 200, timeoutMs: 3_600_000 } });
    const orderId = uniqueId('o');
    const order = orderBody([{ id: 'a', quantity: 1, unitPriceMinor: 5000 }], { customer: { memberId: m.id }, paidWithPoints: { amountMinor: 2000, reservationId: r1.body.reservation.id } });
    await sendOk(t, { orderId, eventId: 'paid', type: 'paid', occurredAt: at(0), order });
    expect((await t.call('GET', `/v1/reservations/${r1.body.reservation.id}`)).body.status).toBe('posted');
    await sendOk(t, { orderId, eventId: 'cancel', type: 'cancelled', occurredAt: at(5) });
    expect(await balance(t, m.id)).toMatchObject({ available: 1000, pending: 0, reserved: 0 });

    const r2 = await t.call('POST', `/v1/members/${m.id}/reservations`, { body: { amount: 300, timeoutMs: 3_600_000 } });
    const orderId2 = uniqueId('o');
    const order2 = orderBody([{ id: 'a', quantity: 1, unitPriceMinor: 5000 }], { customer: { memberId: m.id }, paidWithPoints: { amountMinor: 3000, reservationId: r2.body.reservation.id } });
    await sendOk(t, { orderId: orderId2, eventId: 'cancel', type: 'cancelled', occurredAt: at(5), order: order2 });
    expect((await t.call('GET', `/v1/reservations/${r2.body.reservation.id}`)).body.status).toBe('voided');
    await sendOk(t, { orderId: orderId2, eventId: 'paid', type: 'paid', occurredAt: at(0), order: order2 });
    expect(await balance(t, m.id)).toMatchObject({ available: 1000, pending: 0, reserved: 0 });
    await expectLedgerOk(t);
  });

  it('corrects threshold progress and takes back a step’s bonus when a refund drops below it', async () => {
    const p = await t.newProgram({ wallets: [{ code: 'points', name: 'Points' }] });
    const as = { key: p.key };
    const rule = await t.call('POST', '/v1/rules', { ...as, body: { kind: 'threshold', name: 'Free coffee every $50', config: { everyAmountMinor: 5000, points: 100 } } });
    expect(rule.status).toBe(201);
    const m = await t.member({}, p);
    const send = (body: Record<string, unknown>) => t.call('POST', '/v1/orders/events', { ...as, body, idempotencyKey: false });
    const o1 = uniqueId('o');
    await send({ orderId: o1, eventId: 'p', type: 'paid', occurredAt: at(0), order: orderBody([{ id: 'a', quantity: 1, unitPriceMinor: 6000 }], { customer: { memberId: m.id } }) });
    let progress = await t.call('GET', `/v1/members/${m.id}/progress`, as);
    expect(progress.body.current[0]).toMatchObject({ kind: 'threshold', progress: 6000, reached: 1, points: 100, toNext: 4000, goal: 5000, counts: 'spend' });
    await send({ orderId: uniqueId('o'), eventId: 'p', type: 'paid', occurredAt: at(1), order: orderBody([{ id: 'a', quantity: 1, unitPriceMinor: 4500 }], { customer: { memberId: m.id } }) });
    progress = await t.call('GET', `/v1/members/${m.id}/progress`, as);
    expect(progress.body.current[0]).toMatchObject({ progress: 10500, reached: 2, points: 200 });
    expect((await t.call('GET', `/v1/members/${m.id}/balances/points`, as)).body.available).toBe(200);
    await send({ orderId: o1, eventId: 'r', type: 'refunded', occurredAt: at(2), refund: { amountMinor: 1000 } });
    progress = await t.call('GET', `/v1/members/${m.id}/progress`, as);
    expect(progress.body.current[0]).toMatchObject({ progress: 9500, reached: 1, points: 100, toNext: 500 });
    const b = (await t.call('GET', `/v1/members/${m.id}/balances/points`, as)).body;
    expect(b).toMatchObject({ available: 100, lifetime: { earned: 200, reversed: 100 } });
    const lost = await t.call('GET', '/v1/events?type=progress.lost', as);
    expect(lost.status).toBe(200);
    await expectLedgerOk(t, p.key);
  });
});
