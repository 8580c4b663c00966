import { describe, expect, it } from 'vitest';
import { planReversal, type ReversalSituation } from './reversal-plan.ts';

const plan = (s: Partial<ReversalSituation>) =>
  planReversal({ requested: 100, lotRemaining: 0, expiredUncounted: 0, otherAvailable: 0, policy: 'allow_negative', ...s });

describe('planReversal', () => {
  it('takes from the earn’s own lot first', () => {
    expect(plan({ lotRemaining: 100, otherAvailable: 500 })).toEqual({ fromLot: 100, alreadyExpired: 0, fromOthers: 0, debt: 0, forgiven: 0 });
    expect(plan({ requested: 30, lotRemaining: 100 })).toEqual({ fromLot: 30, alreadyExpired: 0, fromOthers: 0, debt: 0, forgiven: 0 });
  });

  it('does not take again what expired from the lot, then takes the spent part from other points', () => {
    expect(plan({ lotRemaining: 10, expiredUncounted: 60, otherAvailable: 500 })).toEqual({ fromLot: 10, alreadyExpired: 60, fromOthers: 30, debt: 0, forgiven: 0 });
  });

  it('goes below zero under allow_negative and forgives under take_remaining', () => {
    expect(plan({ lotRemaining: 20, otherAvailable: 30 })).toEqual({ fromLot: 20, alreadyExpired: 0, fromOthers: 30, debt: 50, forgiven: 0 });
    expect(plan({ lotRemaining: 20, otherAvailable: 30, policy: 'take_remaining' })).toEqual({ fromLot: 20, alreadyExpired: 0, fromOthers: 30, debt: 0, forgiven: 50 });
  });

  it('always accounts for exactly the requested amount', () => {
    for (const s of [{ lotRemaining: 7 }, { expiredUncounted: 200 }, { otherAvailable: 3, policy: 'take_remaining' as const }, {}]) {
      const p = plan(s);
      expect(p.fromLot + p.alreadyExpired + p.fromOthers + p.debt + p.forgiven).toBe(100);
    }
  });
});
