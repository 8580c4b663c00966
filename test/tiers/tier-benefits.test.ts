import { describe, expect, it } from 'vitest';
import { earn, reverse, type LedgerContext } from '../../src/ledger/ledger-operations.ts';
import {
  currentTier, grantTierBirthdayGift, memberTierAtLeast, recordPointsEarned, recordPointsReversed, tierBirthdayGift, tierContext,
} from '../../src/tiers/tier-operations.ts';
import { memberProgress as messageProgress } from '../../src/notifications/member-progress.ts';
import '../../src/tiers/tier-jobs.ts';
import { setupTestApp, TestClock, type TestProgram } from '../helpers.ts';
import { activity, ladder, putLadder, review, SEPHORA, tierOf } from './tier-kit.ts';

/** Virgin-style: status on qualifying points, Silver +50 %, Gold ×2. */
const VIRGIN = {
  window: { kind: 'lifetime' },
  tiers: [
    { code: 'red', name: 'Red', thresholds: { points_earned: 0 } },
    { code: 'silver', name: 'Silver', thresholds: { points_earned: 1_000 }, benefits: { earnMultiplierBp: 15_000, entryReward: { points: 100 } } },
    { code: 'gold', name: 'Gold', thresholds: { points_earned: 5_000 }, benefits: { earnMultiplierBp: 20_000, perks: [{ code: 'lounge', label: 'Lounge access' }] } },
  ],
};

describe('tier benefits and the points_earned metric', async () => {
  const clock = new TestClock(new Date('2025-03-01T17:00:00Z'));
  const t = await setupTestApp({ clock });

  /** What the ledger will do once its earn/reverse call the tier hooks (the lead wires them). */
  async function ledgerEarn(p: TestProgram, memberId: string, amount: number) {
    return t.db.db.transaction().execute(async (trx) => {
      const ctx: LedgerContext = await tierContext(trx, p.id, clock.current, 'test');
      const result = await earn(ctx, { memberId, wallet: 'points', amount, pendingUntil: null });
      await recordPointsEarned(ctx, { memberId, operationId: result.operation.id, amount, reference: null });
      return result.operation.id;
    });
  }
  async function ledgerReverse(p: TestProgram, memberId: string, operationId: string, amount: number) {
    return t.db.db.transaction().execute(async (trx) => {
      const ctx: LedgerContext = await tierContext(trx, p.id, clock.current, 'test');
      const result = await reverse(ctx, { operationId, amount });
      return recordPointsReversed(ctx, { memberId, earnOperationId: operationId, reverseOperationId: result.operation.id, amount });
    });
  }
  const progress = async (p: TestProgram, memberId: string) => (await t.call('GET', `/v1/members/${memberId}/tier/progress`, { key: p.key })).body;

  it('qualifies on points earned net of reversals — never on the balance, never on its own rewards', async () => {
    clock.set('2025-03-01T17:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, VIRGIN, p);
    const m = await t.member({}, p);
    const op = await ledgerEarn(p, m.id, 1_200);
    expect(await tierOf(t, m.id, p)).toBe('silver');
    // The 100-point entry reward went to the wallet but does not count towards the next tier.
    expect((await t.call('GET', `/v1/members/${m.id}/balances/points`, { key: p.key })).body.available).toBe(1_300);
    expect((await progress(p, m.id)).metrics).toEqual([{ metric: 'points_earned', value: 1_200, formatted: '1,200 points' }]);
    // Spending points lowers the balance, not the tier.
    const spend = await t.call('POST', `/v1/members/${m.id}/spend`, { key: p.key, body: { amount: 1_300 } });
    expect(spend.status).toBe(201);
    expect(await tierOf(t, m.id, p)).toBe('silver');
    expect((await progress(p, m.id)).next.message).toBe('Earn 3,800 more points in total to reach Gold.');
    // A reversal lowers the metric (the tier waits for the review).
    await ledgerReverse(p, m.id, op, 500);
    expect((await progress(p, m.id)).metrics[0].value).toBe(700);
    expect(await tierOf(t, m.id, p)).toBe('silver');
    clock.set('2026-01-01T06:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('red');
  });

  it('gives the entry reward once per tier, however often the member comes back to it', async () => {
    clock.set('2025-03-01T17:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, ladder(), p);
    const m = await t.member({}, p);
    await activity(t, m.id, { net_spend: 40_000 }, { program: p });
    clock.set('2027-01-01T06:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('insider');
    await activity(t, m.id, { net_spend: 40_000 }, { program: p });
    expect(await tierOf(t, m.id, p)).toBe('vib');
    const entries = await t.db.db.selectFrom('operations').select(['amount', 'reference_type']).where('member_id', '=', m.id).where('reference_type', '=', 'tier_entry').execute();
    expect(entries).toEqual([{ amount: 500, reference_type: 'tier_entry' }]);
    const reached = await t.db.db.selectFrom('tier_first_reached').selectAll().where('member_id', '=', m.id).execute();
    expect(reached.map((r) => [r.tier_code, r.entry_operation_id !== null])).toEqual([['vib', true]]);
  });

  it('exposes the current tier, multiplier and perks to the rules engine, the rewards catalog and the shop', async () => {
    clock.set('2025-03-01T17:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, VIRGIN, p);
    const fresh = await t.member({}, p);
    const gold = await t.member({}, p);
    await ledgerEarn(p, gold.id, 6_000);
    expect(await currentTier(t.db.db, p.id, fresh.id)).toMatchObject({ code: 'red', source: 'entry', earnMultiplierBp: 10_000 });
    expect(await currentTier(t.db.db, p.id, gold.id)).toMatchObject({ code: 'gold', source: 'earned', earnMultiplierBp: 20_000, perks: { extra: [{ code: 'lounge', label: 'Lounge access' }] } });
    expect(await memberTierAtLeast(t.db.db, p.id, gold.id, 'silver')).toBe(true);
    expect(await memberTierAtLeast(t.db.db, p.id, fresh.id, 'silver')).toBe(false);
    const none = await t.newProgram();
    expect(await currentTier(t.db.db, none.id, (await t.member({}, none)).id)).toBeNull();
    const table = (await t.call('GET', '/v1/tiers/table', { key: p.key })).body;
    expect(table.tiers.map((x: any) => [x.code, x.howToGet, x.benefitsText])).toEqual([
      ['red', 'Every member, from the day they join.', []],
      ['silver', 'Earn 1,000 points in total.', ['+50 % points', '100 points when you first reach Silver']],
      ['gold', 'Earn 5,000 points in total.', ['×2 points', 'Lounge access']],
    ]);
  });

  it('gives the tier’s birthday gift once a year, for the birthday job to call', async () => {
    clock.set('2025-03-01T17:00:00Z');
    const p = await t.newProgram();
    const tiers = SEPHORA.tiers.map((x) => (x.code === 'vib' ? { ...x, benefits: { ...x.benefits, birthdayGift: { points: 250, rewardCode: 'birthday_mini' } } } : x));
    await putLadder(t, ladder({ tiers }), p);
    const insider = await t.member({}, p);
    const vib = await t.member({}, p);
    await activity(t, vib.id, { net_spend: 40_000 }, { program: p });
    expect(await tierBirthdayGift(t.db.db, p.id, insider.id)).toBeNull();
    expect(await tierBirthdayGift(t.db.db, p.id, vib.id)).toEqual({ tier: 'vib', points: 250, wallet: 'points', rewardCode: 'birthday_mini' });
    const give = (memberId: string, year: number) => t.db.db.transaction().execute(async (trx) => grantTierBirthdayGift(await tierContext(trx, p.id, clock.current), { memberId, year }));
    expect(await give(insider.id, 2025)).toMatchObject({ granted: false, gift: null });
    const first = await give(vib.id, 2025);
    expect(first).toMatchObject({ granted: true, gift: { rewardCode: 'birthday_mini' } });
    expect(first.operationId).toBeTruthy();
    expect(await give(vib.id, 2025)).toMatchObject({ granted: false, operationId: first.operationId });
    expect((await give(vib.id, 2026)).granted).toBe(true);
    // 500 entry + 2 × 250 birthday.
    expect((await t.call('GET', `/v1/members/${vib.id}/balances/points`, { key: p.key })).body.available).toBe(1_000);
  });

  it('tells lifecycle messages the next tier and the gap in its unit', async () => {
    clock.set('2025-03-01T17:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, VIRGIN, p);
    const m = await t.member({}, p);
    await ledgerEarn(p, m.id, 4_900);
    const progress = await messageProgress(t.db.db, { programId: p.id, memberId: m.id, wallet: 'points' });
    expect(progress).toMatchObject({ tier: { id: 'silver', name: 'Silver' }, nextTier: { id: 'gold', name: 'Gold', gap: 100, unit: 'points' } });
    const none = await t.newProgram();
    expect(await messageProgress(t.db.db, { programId: none.id, memberId: (await t.member({}, none)).id, wallet: 'points' })).not.toHaveProperty('nextTier');
  });
});
