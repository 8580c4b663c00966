import { describe, expect, it } from 'vitest';
import { ProblemError } from '../http/error-codes.ts';
import { isEntryTier, validateLadder, type LadderInput } from './tier-ladder.ts';

const base: LadderInput = {
  window: { kind: 'calendar_year' },
  tiers: [
    { code: 'insider', name: 'Insider', thresholds: { net_spend: 0 } },
    { code: 'vib', name: 'VIB', thresholds: { net_spend: 35_000 } },
    { code: 'rouge', name: 'Rouge', thresholds: { net_spend: 100_000 } },
  ],
};

function problem(input: LadderInput): ProblemError {
  try {
    validateLadder(input);
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error('expected a ProblemError');
}

describe('validateLadder', () => {
  it('accepts a Sephora-style ladder, ranks tiers in order and applies defaults', () => {
    const { settings, tiers } = validateLadder(base);
    expect(settings).toEqual({ windowKind: 'calendar_year', windowMonths: null, qualification: 'any', graceDays: 0, downgradeOneLevel: false, refundDowngrade: 'at_review' });
    expect(tiers.map((t) => [t.code, t.rank, t.kind, t.earnMultiplierBp])).toEqual([['insider', 0, 'earned', 10_000], ['vib', 1, 'earned', 10_000], ['rouge', 2, 'earned', 10_000]]);
    expect(isEntryTier(tiers[0]!)).toBe(true);
    expect(isEntryTier(tiers[1]!)).toBe(false);
  });

  it('refuses unordered and overlapping thresholds, naming the tier', () => {
    const unordered = problem({ ...base, tiers: [base.tiers[0]!, base.tiers[2]!, base.tiers[1]!] });
    expect(unordered.code).toBe('invalid_tier_ladder');
    expect(unordered.message).toMatch(/out of order/);
    expect(unordered.extra).toMatchObject({ tier: 'vib', field: 'thresholds.net_spend' });
    const overlap = problem({ ...base, tiers: [base.tiers[0]!, base.tiers[1]!, { code: 'rouge', name: 'Rouge', thresholds: { net_spend: 35_000 } }] });
    expect(overlap.message).toMatch(/overlap/);
  });

  it('refuses unknown metrics with the list of known ones', () => {
    const e = problem({ ...base, tiers: [{ code: 'a', name: 'A', thresholds: { balance: 100 } }] });
    expect(e.code).toBe('unknown_tier_metric');
    expect(e.extra).toMatchObject({ metric: 'balance', known: ['net_spend', 'points_earned', 'orders'] });
  });

  it('needs the same metrics on every earned tier, increasing on each', () => {
    expect(problem({ ...base, tiers: [{ code: 'a', name: 'A', thresholds: { net_spend: 100 } }, { code: 'b', name: 'B', thresholds: { orders: 5 } }] }).message).toMatch(/same metrics/);
    const combo = validateLadder({
      window: { kind: 'rolling_months', months: 12 }, qualification: 'all',
      tiers: [{ code: 'a', name: 'A', thresholds: { net_spend: 100, orders: 1 } }, { code: 'b', name: 'B', thresholds: { orders: 5, net_spend: 1_000 } }],
    });
    expect(combo.tiers[1]!.thresholds).toEqual({ net_spend: 1_000, orders: 5 });
    expect(problem({ window: { kind: 'lifetime' }, tiers: [{ code: 'a', name: 'A', thresholds: { net_spend: 100, orders: 3 } }, { code: 'b', name: 'B', thresholds: { orders: 3, net_spend: 1_000 } }] }).extra)
      .toMatchObject({ tier: 'b', field: 'thresholds.orders' });
  });

  it('keeps thresholds to earned tiers and prices to paid tiers', () => {
    expect(problem({ ...base, tiers: [...base.tiers, { code: 'x', name: 'X', kind: 'invitation', thresholds: { net_spend: 1 } }] }).extra).toMatchObject({ tier: 'x', field: 'thresholds' });
    expect(problem({ ...base, tiers: [...base.tiers, { code: 'club', name: 'Club', kind: 'paid' }] }).extra).toMatchObject({ tier: 'club', field: 'price' });
    expect(problem({ ...base, tiers: [{ code: 'a', name: 'A', thresholds: { net_spend: 1 }, price: { amountMinor: 1, periodMonths: 1 } }] }).extra).toMatchObject({ field: 'price' });
    expect(problem({ ...base, tiers: [{ code: 'a', name: 'A' }] }).extra).toMatchObject({ field: 'thresholds' });
    const paid = validateLadder({ ...base, tiers: [...base.tiers, { code: 'club', name: 'Club', kind: 'paid', price: { amountMinor: 9_900, periodMonths: 12 } }] });
    expect(paid.tiers[3]).toMatchObject({ kind: 'paid', priceMinor: 9_900, periodMonths: 12, thresholds: {} });
  });

  it('checks the window, the grace period, codes and rewards', () => {
    expect(problem({ ...base, window: { kind: 'rolling_months' } }).extra).toMatchObject({ field: 'window.months' });
    expect(problem({ ...base, window: { kind: 'calendar_year', months: 12 } }).extra).toMatchObject({ field: 'window.months' });
    expect(problem({ ...base, window: { kind: 'rolling_months', months: 1 }, graceDays: 28 }).extra).toMatchObject({ field: 'graceDays' });
    expect(problem({ ...base, graceDays: 181 }).extra).toMatchObject({ field: 'graceDays' });
    expect(problem({ ...base, tiers: [base.tiers[0]!, { ...base.tiers[1]!, code: 'insider' }] }).message).toMatch(/used twice/);
    expect(problem({ ...base, tiers: [] }).code).toBe('invalid_tier_ladder');
    expect(problem({ ...base, tiers: [{ ...base.tiers[0]!, benefits: { entryReward: { points: 100 } } }] }).extra).toMatchObject({ field: 'benefits.entryReward' });
    expect(problem({ ...base, tiers: [{ ...base.tiers[1]!, benefits: { birthdayGift: {} } }] }).extra).toMatchObject({ field: 'benefits.birthdayGift' });
    const gifts = validateLadder({ ...base, tiers: [{ ...base.tiers[1]!, benefits: { entryReward: { points: 100 }, birthdayGift: { rewardCode: 'cake' } } }] });
    expect(gifts.tiers[0]).toMatchObject({ entryReward: { points: 100, wallet: 'points' }, birthdayGift: { points: null, wallet: null, rewardCode: 'cake' } });
  });
});
