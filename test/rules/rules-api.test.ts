import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp, TestClock } from '../helpers.ts';
import { createRule, expectLedgerOk, orderBody, sendOk, uniqueId } from '../orders/order-helpers.ts';

const START = new Date('2031-03-03T12:00:00Z');

describe('earning rules API', async () => {
  const clock = new TestClock(START);
  const t = await setupTestApp({ clock });

  it('creates, reads and lists rules with their versions', async () => {
    const created = await t.call('POST', '/v1/rules', { body: { kind: 'base_rate', name: 'Per dollar', config: { points: 1, perAmountMinor: 100 } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'base_rate', status: 'active',
      current: { version: 1, name: 'Per dollar', priority: 100, stopFurtherRules: false, enabled: true, effectiveFrom: START.toISOString(), config: { points: 1, perAmountMinor: 100, wallet: 'points' } },
    });
    const got = await t.call('GET', `/v1/rules/${created.body.id}`);
    expect(got.body).toEqual(created.body);
    clock.advance(1000);
    await createRule(t, 'multiplier', { percent: 200 });
    clock.set(START);
    const page = await t.call('GET', '/v1/rules?limit=1');
    expect(page.body.data).toHaveLength(1);
    const next = await t.call('GET', `/v1/rules?limit=1&cursor=${page.body.nextCursor}`);
    expect(next.body.data[0].kind).toBe('multiplier');
    expect((await t.call('GET', '/v1/rules?kind=multiplier')).body.data).toHaveLength(1);
    const other = await t.newProgram();
    expect((await t.call('GET', `/v1/rules/${created.body.id}`, { key: other.key })).status).toBe(404);
    expect((await t.call('PUT', `/v1/rules/${created.body.id}`, { key: other.key, idempotencyKey: uniqueId('k'), body: { name: 'x', config: { points: 1, perAmountMinor: 1 } } })).status).toBe(404);
  });

  it('needs an Idempotency-Key and replays a retry', async () => {
    const body = { kind: 'extra_points', name: 'Bonus', config: { points: 5, per: 'order' } };
    expect((await t.call('POST', '/v1/rules', { body, idempotencyKey: false })).body.code).toBe('idempotency_key_required');
    const key = uniqueId('k');
    const a = await t.call('POST', '/v1/rules', { body, idempotencyKey: key });
    const b = await t.call('POST', '/v1/rules', { body, idempotencyKey: key });
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.body.id).toBe(a.body.id);
  });

  it('refuses impossible configurations with every problem listed, saving nothing', async () => {
    const before = (await t.call('GET', '/v1/rules?limit=200')).body.data.length;
    const res = await t.call('POST', '/v1/rules', {
      body: { kind: 'extra_points', name: 'Weekend on a Friday', config: { points: 10, per: 'unit', conditions: { dates: [{ from: '2031-03-07', to: '2031-03-07' }], weekdays: [6, 7] } } },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_rule');
    expect(res.body.errors).toHaveLength(2);
    expect(res.body.errors).toEqual(expect.arrayContaining([
      { path: '/config/lines', message: 'points per unit need the products they are for' },
      { path: '/config/conditions/weekdays', message: 'none of these weekdays falls within the dates: the rule could never apply' },
    ]));
    const typed = await t.call('POST', '/v1/rules', { body: { kind: 'multiplier', name: 'x', config: { percent: '200' } } });
    expect(typed.status).toBe(400);
    const cashback = await t.call('POST', '/v1/rules', { body: { kind: 'cashback', name: '3 % back', config: { rateBasisPoints: 300 } } });
    expect(cashback.status).toBe(422);
    expect(cashback.body).toMatchObject({ code: 'unknown_wallet', wallet: 'cashback' });
    expect((await t.call('GET', '/v1/rules?limit=200')).body.data.length).toBe(before);
  });

  it('versions a rule with effective dates; an order is evaluated by the rules in force when it was placed', async () => {
    const p = await t.newProgram();
    const as = { key: p.key };
    const v1 = await t.call('POST', '/v1/rules', { ...as, body: { kind: 'base_rate', name: '1 per dollar', config: { points: 1, perAmountMinor: 100 } } });
    const tomorrow = new Date(START.getTime() + DAY).toISOString();
    const v2 = await t.call('PUT', `/v1/rules/${v1.body.id}`, { ...as, idempotencyKey: uniqueId('k'), body: { name: '2 per dollar', effectiveFrom: tomorrow, config: { points: 2, perAmountMinor: 100 } } });
    expect(v2.status, JSON.stringify([v1.body, v2.body])).toBe(200);
    expect(v2.body).toMatchObject({ status: 'active', current: { version: 1 }, scheduled: [{ version: 2, effectiveFrom: tomorrow }] });
    expect(v2.body.versions).toHaveLength(2);

    const m = await t.member({}, p);
    const send = (orderId: string, placedAt: string) => t.call('POST', '/v1/orders/events', {
      ...as, idempotencyKey: false,
      body: { orderId, eventId: 'p', type: 'paid', occurredAt: placedAt, order: orderBody([{ id: 'a', quantity: 1, unitPriceMinor: 10000 }], { customer: { memberId: m.id }, placedAt }) },
    });
    clock.set(new Date(START.getTime() + 2 * DAY));
    // Placed today under v1, reported after v2 took effect: still v1.
    const early = await send(uniqueId('o'), new Date(START.getTime() + 3_600_000).toISOString());
    expect(early.body.order.points.breakdown[0]).toMatchObject({ name: '1 per dollar', version: 1, points: 100 });
    const late = await send(uniqueId('o'), new Date(START.getTime() + DAY + 3_600_000).toISOString());
    expect(late.body.order.points.breakdown[0]).toMatchObject({ name: '2 per dollar', version: 2, points: 200 });
    // Without placedAt an order is placed at its first event: paid after v2 took effect, an order
    // created under v1 still earns by v1 (the rules read with the event's own time are not used).
    const created = uniqueId('o');
    const event = (eventId: string, type: string, occurredAt: string) => t.call('POST', '/v1/orders/events', {
      ...as, idempotencyKey: false,
      body: { orderId: created, eventId, type, occurredAt, order: orderBody([{ id: 'a', quantity: 1, unitPriceMinor: 10000 }], { customer: { memberId: m.id } }) },
    });
    expect((await event('c', 'created', new Date(START.getTime() + 3_600_000).toISOString())).status).toBe(201);
    const paidLater = await event('p', 'paid', new Date(START.getTime() + DAY + 7_200_000).toISOString());
    expect(paidLater.body.order.points.breakdown[0]).toMatchObject({ name: '1 per dollar', version: 1, points: 100 });

    // The past cannot be rewritten; a version cannot come before the latest.
    const past = await t.call('PUT', `/v1/rules/${v1.body.id}`, { ...as, idempotencyKey: uniqueId('k'), body: { name: 'x', effectiveFrom: START.toISOString(), config: { points: 5, perAmountMinor: 100 } } });
    expect(past.body.code).toBe('rule_effective_date_invalid');
    const kind = await t.call('PUT', `/v1/rules/${v1.body.id}`, { ...as, idempotencyKey: uniqueId('k'), body: { kind: 'cashback', name: 'x', config: { rateBasisPoints: 5 } } });
    expect(kind.body.code).toBe('invalid_rule');

    // Switching a rule off is a version too.
    const off = await t.call('PUT', `/v1/rules/${v1.body.id}`, { ...as, idempotencyKey: uniqueId('k'), body: { name: '2 per dollar', enabled: false, config: { points: 2, perAmountMinor: 100 } } });
    expect(off.body).toMatchObject({ status: 'disabled', current: null });
    const afterOff = await send(uniqueId('o'), clock.current!.toISOString());
    expect(afterOff.body.order.points.breakdown).toEqual([]);
    expect((await t.call('GET', `/v1/members/${m.id}/balances/points`, as)).body).toMatchObject({ available: 400 });
    clock.set(START);
    await expectLedgerOk(t, p.key);
  });

  it('reads and changes the earning settings', async () => {
    expect((await t.call('GET', '/v1/earning-settings')).body).toEqual({ claimWindowDays: 30, pendingFrom: 'paid' });
    const put = await t.call('PUT', '/v1/earning-settings', { body: { claimWindowDays: 60 }, idempotencyKey: uniqueId('k') });
    expect(put.body).toEqual({ claimWindowDays: 60, pendingFrom: 'paid' });
    expect((await t.call('PUT', '/v1/earning-settings', { body: { claimWindowDays: -1 }, idempotencyKey: uniqueId('k') })).status).toBe(400);
    const m = await t.member();
    const order = await sendOk(t, { orderId: uniqueId('o'), eventId: 'p', type: 'paid', occurredAt: START.toISOString(), order: orderBody([{ id: 'a', quantity: 1, unitPriceMinor: 100 }], { customer: { email: 'nobody@example.com' } }) });
    expect(order.claimUntil).toBe(new Date(START.getTime() + 60 * DAY).toISOString());
    expect(m.id).toBeTruthy();
  });
});
