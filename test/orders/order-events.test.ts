import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp, TestClock } from '../helpers.ts';
import { balance, createRule, expectLedgerOk, orderBody, sendEvent, sendOk, uniqueId } from './order-helpers.ts';

// Monday 2031-03-03, 07:00 in New York: after the database clock, so members enrolled "now" joined before these orders.
const START = new Date('2031-03-03T12:00:00Z');

describe('order events', async () => {
  const clock = new TestClock(START);
  const t = await setupTestApp({ clock, program: { wallets: [{ code: 'points', name: 'Points', pendingDays: 14 }] } });
  await createRule(t, 'base_rate', { points: 1, perAmountMinor: 100 });
  clock.advance(60_000);
  const at = (minutes: number) => new Date(clock.current!.getTime() + minutes * 60_000).toISOString();

  const lines = [{ id: 'l1', sku: 'A', quantity: 2, unitPriceMinor: 2500 }, { id: 'l2', sku: 'B', quantity: 1, unitPriceMinor: 5000 }];

  it('awards a paid order once, pending for the return window, and answers a resent event as a duplicate', async () => {
    const m = await t.member();
    const orderId = uniqueId('o');
    const paid = { orderId, eventId: 'paid-1', type: 'paid', occurredAt: at(0), order: orderBody(lines, { customer: { customerId: m.customerId }, shippingMinor: 700 }) };
    const first = await sendEvent(t, paid);
    expect(first.status).toBe(201);
    expect(first.body.duplicate).toBe(false);
    expect(first.body.order).toMatchObject({ status: 'paid', memberId: m.id, merchandiseMinor: 10000, points: { held: { points: 100 }, awaiting: null } });
    expect(first.body.order.points.breakdown[0]).toMatchObject({ points: 100, why: '1 per 1.00 USD on 100.00 USD (excluding shipping, tax, gift cards), rounded down', pending: { days: 14, from: 'paid' } });
    const again = await sendEvent(t, paid);
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    expect(await balance(t, m.id)).toMatchObject({ available: 0, pending: 100 });
    // The return window closes 14 days after payment.
    clock.advance(14 * DAY + 60_000);
    expect(await balance(t, m.id)).toMatchObject({ available: 100, pending: 0 });
    clock.set(START);
    clock.advance(60_000);
    await expectLedgerOk(t);
  });

  it('refuses the same event id with other content', async () => {
    const m = await t.member();
    const orderId = uniqueId('o');
    await sendOk(t, { orderId, eventId: 'e1', type: 'paid', occurredAt: at(0), order: orderBody(lines, { customer: { memberId: m.id } }) });
    const changed = await sendEvent(t, { orderId, eventId: 'e1', type: 'paid', occurredAt: at(0), order: orderBody([{ id: 'l1', quantity: 1, unitPriceMinor: 1 }], { customer: { memberId: m.id } }) });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe('order_event_conflict');
    expect(await balance(t, m.id)).toMatchObject({ pending: 100 });
  });

  it('replays under an Idempotency-Key like the ledger routes', async () => {
    const m = await t.member();
    const body = { orderId: uniqueId('o'), eventId: 'e1', type: 'paid', occurredAt: at(0), order: orderBody(lines, { customer: { memberId: m.id } }) };
    const key = uniqueId('key');
    const a = await sendEvent(t, body, key);
    const b = await sendEvent(t, body, key);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.body).toEqual(a.body);
    const reused = await sendEvent(t, { ...body, eventId: 'e2' }, key);
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('idempotency_key_reused');
  });

  it('treats a refund before the payment, a payment twice and a cancel after fulfilment like in-order delivery', async () => {
    const m = await t.member();
    const orderId = uniqueId('o');
    const order = orderBody(lines, { customer: { memberId: m.id } });
    const refund = await sendOk(t, { orderId, eventId: 'r1', type: 'refunded', occurredAt: at(10), refund: { lines: [{ lineId: 'l2', quantity: 1 }] } });
    expect(refund).toMatchObject({ status: 'pending', memberId: null, points: { awaiting: 'details' } });
    await sendOk(t, { orderId, eventId: 'p1', type: 'paid', occurredAt: at(1), order });
    await sendOk(t, { orderId, eventId: 'p2', type: 'paid', occurredAt: at(2), order });
    let view = await sendOk(t, { orderId, eventId: 'f1', type: 'fulfilled', occurredAt: at(5) });
    expect(view).toMatchObject({ status: 'partially_refunded', refundedMinor: 5000, points: { held: { points: 50 } } });
    expect(view.paidAt).toBe(at(1));
    expect(await balance(t, m.id)).toMatchObject({ pending: 50 });
    view = await sendOk(t, { orderId, eventId: 'c1', type: 'cancelled', occurredAt: at(20) });
    expect(view).toMatchObject({ status: 'cancelled', points: { expected: { points: 0 } } });
    expect(view.points.held).toEqual({});
    expect(await balance(t, m.id)).toMatchObject({ available: 0, pending: 0 });
    await expectLedgerOk(t);
  });

  it('cancels before vesting: the pending points are voided', async () => {
    const m = await t.member();
    const orderId = uniqueId('o');
    await sendOk(t, { orderId, eventId: 'p', type: 'paid', occurredAt: at(0), order: orderBody(lines, { customer: { memberId: m.id } }) });
    expect(await balance(t, m.id)).toMatchObject({ pending: 100, available: 0 });
    await sendOk(t, { orderId, eventId: 'c', type: 'cancelled', occurredAt: at(30) });
    const b = await balance(t, m.id);
    expect(b).toMatchObject({ pending: 0, available: 0 });
    expect(b.lifetime).toMatchObject({ earned: 100, reversed: 100 });
  });

  it('rejects another currency with a clear error and records nothing', async () => {
    const m = await t.member();
    const orderId = uniqueId('o');
    const res = await sendEvent(t, { orderId, eventId: 'e', type: 'paid', occurredAt: at(0), order: { ...orderBody(lines, { customer: { memberId: m.id } }), currency: 'EUR' } });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'currency_mismatch', currency: 'EUR', expected: 'USD' });
    expect((await t.call('GET', `/v1/orders/lookup?orderId=${orderId}`)).status).toBe(404);
    // A store with its own currency takes orders in that currency only.
    expect((await t.call('POST', '/v1/stores', { body: { code: 'eu', name: 'EU shop', kind: 'online', currency: 'EUR' } })).status).toBe(201);
    const eu = await sendEvent(t, { store: 'eu', orderId, eventId: 'e', type: 'paid', occurredAt: at(0), order: { ...orderBody(lines), currency: 'USD' } });
    expect(eu.body.code).toBe('currency_mismatch');
    const ok = await sendEvent(t, { store: 'eu', orderId, eventId: 'e', type: 'paid', occurredAt: at(0), order: { ...orderBody(lines), currency: 'EUR' } });
    expect(ok.status).toBe(201);
    expect(ok.body.order).toMatchObject({ store: 'eu', channel: 'online' });
  });

  it('refuses inconsistent orders and unknown stores', async () => {
    const base = { orderId: uniqueId('o'), eventId: 'e', type: 'paid', occurredAt: at(0) };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, order: orderBody([{ id: 'x', quantity: 1, unitPriceMinor: 100 }, { id: 'x', quantity: 1, unitPriceMinor: 100 }]) }, 'invalid_order'],
      [{ ...base, order: orderBody([{ id: 'x', quantity: 1, unitPriceMinor: 100, discountMinor: 101 }]) }, 'invalid_order'],
      [{ ...base, order: orderBody([{ id: 'x', quantity: 1, unitPriceMinor: 100 }], { discountMinor: 200 }) }, 'invalid_order'],
      [{ ...base, type: 'refunded' }, 'invalid_order'],
      [{ ...base, refund: { amountMinor: 5 } }, 'invalid_order'],
      [{ ...base, store: 'nope', order: orderBody(lines) }, 'unknown_store'],
      [{ ...base, order: orderBody(lines, { paidWithPoints: { amountMinor: 100, operationId: '00000000-0000-4000-8000-000000000000' } }) }, 'invalid_points_payment'],
      [{ ...base, order: orderBody(lines, { customer: { memberId: '00000000-0000-4000-8000-000000000000' } }) }, 'member_not_found'],
    ];
    for (const [body, code] of cases) {
      const res = await sendEvent(t, body);
      expect(res.body.code, JSON.stringify(body)).toBe(code);
    }
    const orderId = uniqueId('o');
    await sendOk(t, { orderId, eventId: 'p', type: 'paid', occurredAt: at(0), order: orderBody(lines) });
    const unknownLine = await sendEvent(t, { orderId, eventId: 'r', type: 'refunded', occurredAt: at(1), refund: { lines: [{ lineId: 'zz', quantity: 1 }] } });
    expect(unknownLine.body).toMatchObject({ status: 422, code: 'invalid_order', detail: 'the order has no line "zz"' });
    // A later event of an existing order is held to the same member check as a first one.
    const stranger = await sendEvent(t, { orderId, eventId: 'f', type: 'fulfilled', occurredAt: at(1), order: orderBody(lines, { customer: { memberId: '00000000-0000-4000-8000-000000000000' } }) });
    expect(stranger.body).toMatchObject({ status: 404, code: 'member_not_found' });
    const unchanged = await t.call('GET', `/v1/orders/lookup?orderId=${orderId}`);
    expect(unchanged.body).toMatchObject({ status: 'paid', memberId: null, fulfilledAt: null });
    expect(unchanged.body.events.map((e: { eventId: string }) => e.eventId)).toEqual(['p']);
    const bad = await sendEvent(t, { orderId, eventId: 'x', type: 'shipped', occurredAt: at(0) });
    expect(bad.status).toBe(400);
  });

  it('keeps the orders of shoppers who are not members and lets them earn when they join within the claim window', async () => {
    const email = `${uniqueId('shopper')}@example.com`;
    const orderId = uniqueId('o');
    const waiting = await sendOk(t, { orderId, eventId: 'p', type: 'paid', occurredAt: at(0), order: orderBody(lines, { customer: { email } }) });
    expect(waiting).toMatchObject({ memberId: null, points: { awaiting: 'member', held: {} } });
    expect(waiting.claimUntil).toBe(new Date(Date.parse(at(0)) + 30 * DAY).toISOString());
    const m = await t.member({ email: email.toUpperCase() });
    const claimed = await t.call('GET', `/v1/orders/lookup?orderId=${orderId}`);
    expect(claimed.body).toMatchObject({ memberId: m.id, claimUntil: null, points: { held: { points: 100 } } });
    expect(await balance(t, m.id)).toMatchObject({ pending: 100 });
    const events = await t.call('GET', `/v1/events?type=order.claimed&memberId=${m.id}`);
    expect(events.body.data).toEqual([expect.objectContaining({
      type: 'order.claimed', memberId: m.id, data: { orderId: claimed.body.id, externalId: orderId, memberId: m.id },
    })]);
    // The order's own event was announced when it arrived, before anyone had claimed it.
    const paid = (await t.call('GET', '/v1/events?type=order.paid&limit=100')).body.data.filter((e: any) => e.data.externalId === orderId);
    expect(paid).toEqual([expect.objectContaining({ memberId: null, data: expect.objectContaining({ eventId: 'p', status: 'paid', memberId: null }) })]);
  });

  it('does not give an order to a shopper who joined after the claim window', async () => {
    const phone = '+14155550199';
    const orderId = uniqueId('o');
    // Placed long before the database clock's "now": the window closed before anyone joins today.
    await sendOk(t, { orderId, eventId: 'p', type: 'paid', occurredAt: '2020-01-01T10:00:00Z', order: orderBody(lines, { customer: { phone: '+1 (415) 555-0199' }, placedAt: '2020-01-01T10:00:00Z' }) });
    const m = await t.member({ phone });
    const order = await t.call('GET', `/v1/orders/lookup?orderId=${orderId}`);
    expect(order.body.memberId).toBeNull();
    expect(await balance(t, m.id)).toMatchObject({ pending: 0, available: 0 });
  });

  it('waits for fulfilment when the return window counts from it', async () => {
    const put = await t.call('PUT', '/v1/earning-settings', { body: { pendingFrom: 'fulfilled' }, idempotencyKey: uniqueId('k') });
    expect(put.body).toEqual({ claimWindowDays: 30, pendingFrom: 'fulfilled' });
    // The settings apply to orders evaluated from now on.
    const m = await t.member();
    const orderId = uniqueId('o');
    const paid = await sendOk(t, { orderId, eventId: 'p', type: 'paid', occurredAt: at(0), order: orderBody(lines, { customer: { memberId: m.id } }) });
    expect(paid.points).toMatchObject({ awaiting: 'fulfilment', held: {} });
    expect(await balance(t, m.id)).toMatchObject({ pending: 0 });
    const fulfilled = await sendOk(t, { orderId, eventId: 'f', type: 'fulfilled', occurredAt: at(60 * 24 * 3) });
    expect(fulfilled.points).toMatchObject({ awaiting: null, held: { points: 100 } });
    expect(fulfilled.points.operations[0].vestsAt).toBe(new Date(Date.parse(at(60 * 24 * 3)) + 14 * DAY).toISOString());
    expect((await t.call('PUT', '/v1/earning-settings', { body: { pendingFrom: 'paid' }, idempotencyKey: uniqueId('k') })).status).toBe(200);
  });

  it('lists a member’s orders and finds orders by id', async () => {
    const m = await t.member();
    const a = await sendOk(t, { orderId: uniqueId('o'), eventId: 'p', type: 'paid', occurredAt: at(0), order: orderBody(lines, { customer: { memberId: m.id } }) });
    const b = await sendOk(t, { orderId: uniqueId('o'), eventId: 'p', type: 'paid', occurredAt: at(5), order: orderBody(lines, { customer: { memberId: m.id } }) });
    expect(b.points.orderNumber).toBe(2);
    const page = await t.call('GET', `/v1/members/${m.id}/orders?limit=1`);
    expect(page.body.data.map((o: { id: string }) => o.id)).toEqual([b.id]);
    const next = await t.call('GET', `/v1/members/${m.id}/orders?limit=1&cursor=${page.body.nextCursor}`);
    expect(next.body.data.map((o: { id: string }) => o.id)).toEqual([a.id]);
    expect((await t.call('GET', `/v1/orders/${a.id}`)).body.orderId).toBe(a.orderId);
    // A list page loads its orders' events and awards together: each entry is the order's own view.
    await sendOk(t, { orderId: a.orderId, eventId: 'r', type: 'refunded', occurredAt: at(10), refund: { lines: [{ lineId: lines[0]!.id, quantity: 1 }] } });
    const all = (await t.call('GET', `/v1/members/${m.id}/orders?limit=10`)).body.data;
    expect(all).toEqual([(await t.call('GET', `/v1/orders/${b.id}`)).body, (await t.call('GET', `/v1/orders/${a.id}`)).body]);
    const other = await t.newProgram();
    expect((await t.call('GET', `/v1/orders/${a.id}`, { key: other.key })).status).toBe(404);
    await expectLedgerOk(t);
  });
});
