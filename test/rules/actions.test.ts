import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp, TestClock } from '../helpers.ts';
import { awardBirthdays } from '../../src/actions/birthday-job.ts';
import { createRule, expectLedgerOk, uniqueId } from '../orders/order-helpers.ts';

const START = new Date('2031-03-03T12:00:00Z');

describe('actions beyond purchase', async () => {
  const clock = new TestClock(START);
  const t = await setupTestApp({ clock });
  await createRule(t, 'action', { action: 'review', points: 50, limits: [{ count: 2, period: 'week' }] }, { name: 'Review written' });
  await createRule(t, 'action', { action: 'partner_walk', perUnit: { points: 1, quantity: 1000 }, caps: { perMember: { points: 30, period: 'day' } } }, { name: 'Walgreens steps' });
  await createRule(t, 'action', { action: 'survey', points: 20, limits: [{ count: 1, period: 'lifetime' }] }, { name: 'Survey answered' });
  await createRule(t, 'challenge', { target: 3, period: 'month', points: 100, counts: { type: 'action', action: 'review' } }, { name: 'Three reviews a month' });
  clock.advance(60_000);

  const act = (memberId: string, body: Record<string, unknown>, key = uniqueId('k')) => t.call('POST', `/v1/members/${memberId}/actions`, { body, idempotencyKey: key });

  it('gives points per event within frequency limits, explaining a refusal', async () => {
    const m = await t.member();
    const first = await act(m.id, { type: 'review', reference: { type: 'review', id: 'r1' } });
    expect(first.status).toBe(201);
    expect(first.body.action).toMatchObject({ type: 'review', points: { points: 50 }, breakdown: [{ name: 'Review written', points: 50, why: '50 per review' }] });
    await act(m.id, { type: 'review', reference: { type: 'review', id: 'r2' } });
    const third = await act(m.id, { type: 'review', reference: { type: 'review', id: 'r3' } });
    expect(third.body.action.points).toEqual({});
    expect(third.body.action.notApplied).toEqual([expect.objectContaining({ name: 'Review written', reason: 'limit of 2 per week reached' })]);
    // The third review still counts for the monthly challenge.
    expect((await t.call('GET', `/v1/members/${m.id}/balances/points`)).body.available).toBe(200);
    const progress = (await t.call('GET', `/v1/members/${m.id}/progress`)).body.current[0];
    expect(progress).toMatchObject({ name: 'Three reviews a month', counts: 'action:review', progress: 3, complete: true });
    // A new week, a new allowance.
    clock.advance(7 * DAY);
    expect((await act(m.id, { type: 'review', reference: { type: 'review', id: 'r4' } })).body.action.points).toEqual({ points: 50 });
    clock.set(new Date(START.getTime() + 60_000));
  });

  it('rewards one reference once, and replays a retried request', async () => {
    const m = await t.member();
    const key = uniqueId('k');
    const a = await act(m.id, { type: 'review', reference: { type: 'review', id: 'same' } }, key);
    const retry = await act(m.id, { type: 'review', reference: { type: 'review', id: 'same' } }, key);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(a.body);
    const again = await act(m.id, { type: 'review', reference: { type: 'review', id: 'same' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, action: { id: a.body.action.id } });
    expect((await t.call('GET', `/v1/members/${m.id}/balances/points`)).body.available).toBe(50);
  });

  it('gives points per unit of partner activity, capped per day', async () => {
    const m = await t.member();
    expect((await act(m.id, { type: 'partner_walk', quantity: 12_500 })).body.action.points).toEqual({ points: 12 });
    const capped = await act(m.id, { type: 'partner_walk', quantity: 25_000 });
    expect(capped.body.action).toMatchObject({ points: { points: 18 } });
    expect(capped.body.action.breakdown[0].why).toBe('1 per 1000 units × 25000 = 25; capped at 18: member cap of 30 per day, 12 already given');
    const full = await act(m.id, { type: 'partner_walk', quantity: 5000 });
    expect(full.body.action.notApplied[0].reason).toBe('member cap of 30 per day already reached');
    clock.advance(DAY);
    expect((await act(m.id, { type: 'partner_walk', quantity: 5000 })).body.action.points).toEqual({ points: 5 });
    clock.set(new Date(START.getTime() + 60_000));
  });

  it('limits an action to once ever, and lists a member’s actions', async () => {
    const m = await t.member();
    expect((await act(m.id, { type: 'survey' })).body.action.points).toEqual({ points: 20 });
    expect((await act(m.id, { type: 'survey' })).body.action.notApplied[0].reason).toBe('limit of 1 ever reached');
    const list = await t.call('GET', `/v1/members/${m.id}/actions?type=survey`);
    expect(list.body.data).toHaveLength(2);
  });

  it('rewards birthdays once a year from the hourly job, in the program’s time zone', async () => {
    const p = await t.newProgram({ timeZone: 'Asia/Seoul' });
    expect((await t.call('POST', '/v1/rules', { key: p.key, body: { kind: 'action', name: 'Birthday gift', config: { action: 'birthday', points: 200, limits: [{ count: 1, period: 'year' }] } } })).status).toBe(201);
    // 12:01 UTC on 3 March is 21:01 on 3 March in Seoul.
    const today = await t.member({ birthday: '1990-03-03' }, p);
    const tomorrow = await t.member({ birthday: '1990-03-04' }, p);
    const first = await awardBirthdays(t.db.db, { now: clock.current! });
    expect(first.awarded).toBe(1);
    expect((await awardBirthdays(t.db.db, { now: clock.current! })).awarded).toBe(0);
    const balanceOf = async (id: string) => (await t.call('GET', `/v1/members/${id}/balances/points`, { key: p.key })).body.available;
    expect(await balanceOf(today.id)).toBe(200);
    expect(await balanceOf(tomorrow.id)).toBe(0);
    const actions = (await t.call('GET', `/v1/members/${today.id}/actions`, { key: p.key })).body.data;
    expect(actions).toEqual([expect.objectContaining({ type: 'birthday', reference: { type: 'birthday', id: '2031' }, points: { points: 200 } })]);
  });

  it('refuses unknown action types, blocked members, future actions and other programs’ members', async () => {
    const m = await t.member();
    const unknown = await act(m.id, { type: 'reveiw' });
    expect(unknown.body).toMatchObject({ status: 422, code: 'unknown_action_type', known: ['partner_walk', 'review', 'survey'] });
    expect((await act(m.id, { type: 'review', occurredAt: new Date(START.getTime() + DAY).toISOString() })).body.code).toBe('validation_failed');
    const blocked = await t.member({ status: 'blocked' });
    expect((await act(blocked.id, { type: 'review' })).body.code).toBe('member_blocked');
    const other = await t.newProgram();
    expect((await t.call('POST', `/v1/members/${m.id}/actions`, { key: other.key, body: { type: 'review' } })).status).toBe(404);
    await expectLedgerOk(t);
  });
});

describe('sign-up bonus and claims on joining (database clock)', async () => {
  const t = await setupTestApp();
  await createRule(t, 'action', { action: 'sign_up', points: 100, limits: [{ count: 1, period: 'lifetime' }] }, { name: 'Welcome bonus' });
  await createRule(t, 'base_rate', { points: 1, perAmountMinor: 100 });

  it('gives the sign-up bonus once, usable at once, and claims earlier orders', async () => {
    const customerId = uniqueId('cust');
    const orderId = uniqueId('o');
    const placed = await t.call('POST', '/v1/orders/events', {
      idempotencyKey: false,
      body: { orderId, eventId: 'p', type: 'paid', occurredAt: new Date().toISOString(), order: { currency: 'USD', customer: { customerId }, lines: [{ id: 'a', quantity: 1, unitPriceMinor: 2500 }] } },
    });
    expect(placed.body.order.memberId).toBeNull();
    const joined = await t.call('PUT', `/v1/members/by-customer-id/${customerId}`, { body: { email: `${customerId}@example.com` } });
    expect(joined.status).toBe(201);
    const balance = (await t.call('GET', `/v1/members/${joined.body.id}/balances/points`)).body;
    expect(balance).toMatchObject({ available: 125, pending: 0 });
    const actions = (await t.call('GET', `/v1/members/${joined.body.id}/actions`)).body.data;
    expect(actions).toEqual([expect.objectContaining({ type: 'sign_up', points: { points: 100 }, reference: { type: 'member', id: joined.body.id } })]);
    // Updating the member is not joining again.
    await t.call('PUT', `/v1/members/by-customer-id/${customerId}`, { body: { firstName: 'Ann' } });
    expect((await t.call('GET', `/v1/members/${joined.body.id}/balances/points`)).body.available).toBe(125);
    await expectLedgerOk(t);
  });
});
