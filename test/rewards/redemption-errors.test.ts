import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp, TestClock } from '../helpers.ts';
import { available, createReward, expectLedgerOk, memberWith, redeem, redeemOk, stockOf } from './reward-fixtures.ts';

// Tuesday 4 March 2025, 10:00 in New York (the test program's time zone).
const TUESDAY = '2025-03-04T15:00:00Z';

describe('redemption errors: a clear problem each, and nothing changes', async () => {
  const clock = new TestClock(new Date(TUESDAY));
  const t = await setupTestApp({ clock });

  /** Refused with this status and code; the member's balance, the stock and the redemptions are as before. */
  async function expectRefused(memberId: string, rewardId: string, status: number, code: string, extra: Record<string, unknown> = {}) {
    const before = { points: await available(t, memberId), stock: await stockOf(t, rewardId), redemptions: await countRedemptions(memberId) };
    const res = await redeem(t, memberId, rewardId, extra);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.detail.length).toBeGreaterThan(10);
    expect({ points: await available(t, memberId), stock: await stockOf(t, rewardId), redemptions: await countRedemptions(memberId) }).toEqual(before);
    return res.body;
  }

  async function countRedemptions(memberId: string) {
    const rows = await t.db.db.selectFrom('reward_redemptions').select('id').where('member_id', '=', memberId).execute();
    const vouchers = await t.db.db.selectFrom('reward_vouchers').select('id').where('member_id', '=', memberId).execute();
    return rows.length + vouchers.length;
  }

  it('unavailable: paused or archived', async () => {
    const reward = await createReward(t, { kind: 'fixed_amount', costPoints: 100, stock: 5, benefit: { amountOffMinor: 100 }, status: 'paused' });
    const m = await memberWith(t, 500);
    expect(await expectRefused(m.id, reward.id, 409, 'reward_unavailable')).toMatchObject({ status: 409 });
    await t.call('PATCH', `/v1/rewards/${reward.id}`, { body: { status: 'archived' } });
    await expectRefused(m.id, reward.id, 409, 'reward_unavailable');
    await t.call('PATCH', `/v1/rewards/${reward.id}`, { body: { status: 'active' } });
    await redeemOk(t, m.id, reward.id);
  });

  it('out of window: the Tuesday/Thursday bazaar, in the program time zone', async () => {
    const bazaar = await createReward(t, { kind: 'percentage', costPoints: 100, stock: 10, benefit: { percent: 20 }, availability: { weekdays: ['tuesday', 'thursday'] } });
    const m = await memberWith(t, 1000);
    await redeemOk(t, m.id, bazaar.id);
    // Wednesday 00:30 in New York (05:30 UTC): refused.
    clock.set('2025-03-05T05:30:00Z');
    const body = await expectRefused(m.id, bazaar.id, 409, 'reward_out_of_window');
    expect(body).toMatchObject({ reason: 'weekday', nextOpensAt: '2025-03-06T05:00:00.000Z' });
    // Wednesday 23:59 New York = Thursday 04:59 UTC: still Wednesday locally.
    clock.set('2025-03-06T04:59:00Z');
    await expectRefused(m.id, bazaar.id, 409, 'reward_out_of_window');
    clock.set('2025-03-06T05:00:00Z');
    await redeemOk(t, m.id, bazaar.id);
    clock.set(TUESDAY);
  });

  it('out of window: before the start and after the end date', async () => {
    const reward = await createReward(t, {
      kind: 'free_shipping', costPoints: 10, stock: 3,
      availability: { startsAt: '2025-03-10T00:00:00Z', endsAt: '2025-03-20T00:00:00Z' },
    });
    const m = await memberWith(t, 100);
    expect(await expectRefused(m.id, reward.id, 409, 'reward_out_of_window')).toMatchObject({ reason: 'not_started', nextOpensAt: '2025-03-10T00:00:00.000Z' });
    clock.set('2025-03-20T00:00:00Z');
    expect(await expectRefused(m.id, reward.id, 409, 'reward_out_of_window')).toMatchObject({ reason: 'ended', nextOpensAt: null });
    clock.set(TUESDAY);
  });

  it('out of stock', async () => {
    const reward = await createReward(t, { kind: 'experience', costPoints: 100, stock: 1 });
    const a = await memberWith(t, 500);
    const b = await memberWith(t, 500);
    await redeemOk(t, a.id, reward.id);
    await expectRefused(b.id, reward.id, 409, 'reward_out_of_stock');
    const zero = await createReward(t, { kind: 'experience', costPoints: 100, stock: 0 });
    await expectRefused(b.id, zero.id, 409, 'reward_out_of_stock');
  });

  it('over the per-member limit per period, which resets with the period in the program calendar', async () => {
    const reward = await createReward(t, { kind: 'free_shipping', costPoints: 50, stock: 10, limit: { count: 1, period: 'week' } });
    const m = await memberWith(t, 500);
    await redeemOk(t, m.id, reward.id);
    expect(await expectRefused(m.id, reward.id, 409, 'reward_limit_reached')).toMatchObject({ limit: 1, period: 'week', used: 1, periodStart: '2025-03-03T05:00:00.000Z' });
    // Sunday 23:00 New York: same ISO week.
    clock.set('2025-03-10T03:00:00Z');
    await expectRefused(m.id, reward.id, 409, 'reward_limit_reached');
    // Monday 00:00 New York (EDT): a new week.
    clock.set('2025-03-10T04:00:00Z');
    await redeemOk(t, m.id, reward.id);
    clock.set(TUESDAY);
  });

  it('insufficient points, pending points not counting', async () => {
    const reward = await createReward(t, { kind: 'fixed_amount', costPoints: 1000, stock: 4, benefit: { amountOffMinor: 1000 } });
    const m = await memberWith(t, 400);
    await t.earn(m.id, 900, { pendingUntil: new Date(Date.parse(TUESDAY) + 30 * DAY).toISOString() });
    expect(await expectRefused(m.id, reward.id, 422, 'insufficient_points')).toMatchObject({ available: 400, requested: 1000 });
  });

  it('a blocked member, an unknown reward, another program’s reward', async () => {
    const reward = await createReward(t, { kind: 'free_shipping', costPoints: 10, stock: 2 });
    const blocked = await memberWith(t, 100);
    await t.call('PATCH', `/v1/members/${blocked.id}`, { body: { status: 'blocked' } });
    await expectRefused(blocked.id, reward.id, 409, 'member_blocked');
    const m = await memberWith(t, 100);
    expect((await redeem(t, m.id, '00000000-0000-4000-8000-000000000000')).body.code).toBe('reward_not_found');
    const other = await t.newProgram();
    const foreign = await createReward(t, { kind: 'free_shipping', costPoints: 10 }, other);
    const res = await redeem(t, m.id, foreign.id);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('reward_not_found');
    expect((await t.call('GET', `/v1/rewards/${foreign.id}`)).status).toBe(404);
    await expectLedgerOk(t);
  });

  it('a refused redemption stays refused under its Idempotency-Key, even after the cause is gone', async () => {
    const reward = await createReward(t, { kind: 'free_shipping', costPoints: 300 });
    const m = await memberWith(t, 100);
    const first = await redeem(t, m.id, reward.id, {}, 'retry-key-1');
    expect(first.body.code).toBe('insufficient_points');
    await t.earn(m.id, 500);
    const again = await redeem(t, m.id, reward.id, {}, 'retry-key-1');
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await redeem(t, m.id, reward.id)).status).toBe(201);
  });
});
