import { databaseNow } from '../db/database.ts';
import type { TierMetric } from '../db/schema.ts';
import { registerProgressProvider } from '../notifications/member-progress.ts';
import { memberProgress } from './tier-operations.ts';
import { findLadder } from './tier-repository.ts';

const UNITS: Record<TierMetric, 'money' | 'points' | 'orders'> = { net_spend: 'money', points_earned: 'points', orders: 'orders' };

/**
 * Tier progress for lifecycle messages ("120 points to Gold"): the member's tier and the first
 * open gap to the next earned tier, in the metric's unit. Imported for its effect by the worker
 * (through tier-jobs.ts).
 */
export const unregisterTierProgress = registerProgressProvider('tiers', async (db, input) => {
  if (!(await findLadder(db, input.programId))) return {};
  const progress = await memberProgress(db, input.programId, input.memberId, await databaseNow(db));
  const gap = progress.next?.gaps.find((g) => g.missing > 0);
  return {
    tier: progress.tier ? { id: progress.tier.code, name: progress.tier.name } : null,
    nextTier: progress.next && gap
      ? { id: progress.next.tier.code, name: progress.next.tier.name, gap: gap.missing, unit: UNITS[gap.metric] }
      : null,
  };
});
