import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { available, createReward, memberWith, redeem, redeemOk, stockOf } from './reward-fixtures.ts';

describe('rewards and tiers (through the tiers API)', async () => {
  const t = await setupTestApp();
  const ladder = await t.call('PUT', '/v1/tiers', {
    body: {
      window: { kind: 'lifetime' },
      tiers: [
        { code: 'member', name: 'Member', thresholds: { points_earned: 0 } },
        { code: 'silver', name: 'Silver', thresholds: { points_earned: 100_000 } },
        { code: 'gold', name: 'Gold', thresholds: { points_earned: 500_000 } },
      ],
    },
  });

  async function inTier(points: number, tier: string | null) {
    const m = await memberWith(t, points);
    if (tier) {
      const res = await t.call('POST', `/v1/members/${m.id}/tier/override`, { body: { kind: 'floor', tier, reason: 'rewards test' } });
      expect(res.status).toBe(200);
    }
    return m;
  }

  it('the ladder is set up', () => {
    expect(ladder.status).toBe(200);
  });

  it('a tier-only reward refuses other tiers with a clear problem, nothing changed', async () => {
    const lounge = await createReward(t, { kind: 'experience', name: 'Gold lounge', costPoints: 300, stock: 5, allowedTiers: ['gold'] });
    const member = await inTier(1000, null);
    const silver = await inTier(1000, 'silver');
    const gold = await inTier(1000, 'gold');
    for (const m of [member, silver]) {
      const res = await redeem(t, m.id, lounge.id);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'reward_tier_restricted', allowedTiers: ['gold'] });
      expect(await available(t, m.id)).toBe(1000);
    }
    expect((await redeem(t, member.id, lounge.id)).body.memberTier).toBe('member');
    expect(await stockOf(t, lounge.id)).toBe(5);
    const ok = await redeemOk(t, gold.id, lounge.id);
    expect(ok).toMatchObject({ tier: 'gold', points: 300 });
    const view = await t.call('GET', `/v1/members/${silver.id}/rewards`);
    const entry = view.body.data.find((d: { reward: { id: string } }) => d.reward.id === lounge.id);
    expect(entry).toMatchObject({ redeemableNow: false, blockers: [expect.objectContaining({ code: 'reward_tier_restricted' })] });
  });

  it('tier prices: each tier pays its own cost, others the base cost', async () => {
    const tote = await createReward(t, { kind: 'free_product', name: 'Tote bag', costPoints: 500, tierCosts: { silver: 400, gold: 250 }, benefit: { sku: 'TOTE' } });
    const member = await inTier(1000, null);
    const silver = await inTier(1000, 'silver');
    const gold = await inTier(1000, 'gold');
    expect((await redeemOk(t, member.id, tote.id)).points).toBe(500);
    expect((await redeemOk(t, silver.id, tote.id)).points).toBe(400);
    expect((await redeemOk(t, gold.id, tote.id)).points).toBe(250);
    expect(await available(t, gold.id)).toBe(750);
    const catalog = await t.call('GET', `/v1/members/${gold.id}/rewards`);
    expect(catalog.body.tier).toBe('gold');
    expect(catalog.body.data.find((d: { reward: { id: string } }) => d.reward.id === tote.id)).toMatchObject({ costPoints: 250, missingPoints: 0, redeemableNow: true });
  });
});
