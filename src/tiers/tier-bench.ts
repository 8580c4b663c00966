import type { Db } from '../db/database.ts';
import { createProgram } from '../programs/program-operations.ts';
import { benchOutcome, loadBenchMembers } from './tier-bench-repository.ts';
import { loadLadder, putLadder, tierContext } from './tier-operations.ts';
import { reviewTiers, type TierReviewResult } from './tier-review.ts';

export interface TierBenchResult {
  members: number;
  setupSeconds: number;
  reviewSeconds: number;
  membersPerSecond: number;
  review: TierReviewResult;
  tiersAfter: Record<string, number>;
}

/**
 * Benchmark (not a test): a new program with a Sephora-style ladder and `members` members, 75 %
 * of them due for the yearly review, then one full review run. Only the review is timed.
 * Leaves its program behind: run it on a throwaway database.
 */
export async function benchTierReview(db: Db, members: number, options: { batchSize?: number; log?: (line: string) => void } = {}): Promise<TierBenchResult> {
  const log = options.log ?? (() => {});
  const setupStart = performance.now();
  const { program } = await createProgram(db, { name: `Tier review bench ${members}`, currency: 'USD', timeZone: 'America/New_York' });
  await db.transaction().execute(async (trx) => {
    await putLadder(await tierContext(trx, program.id, new Date('2025-01-01T12:00:00Z'), 'bench'), {
      window: { kind: 'calendar_year' },
      downgradeOneLevelAtATime: true,
      tiers: [
        { code: 'insider', name: 'Insider', thresholds: { net_spend: 0 } },
        { code: 'vib', name: 'VIB', thresholds: { net_spend: 35_000 }, benefits: { earnMultiplierBp: 15_000 } },
        { code: 'rouge', name: 'Rouge', thresholds: { net_spend: 100_000 }, benefits: { earnMultiplierBp: 20_000 } },
      ],
    });
  });
  const ladder = (await loadLadder(db, program.id))!;
  const id = (code: string) => ladder.byCode.get(code)!.id;
  log(`loading ${members} members…`);
  await loadBenchMembers(db, program.id, members, { insider: id('insider'), vib: id('vib'), rouge: id('rouge') });
  const setupSeconds = (performance.now() - setupStart) / 1000;
  log(`loaded in ${setupSeconds.toFixed(1)} s; reviewing…`);
  const reviewStart = performance.now();
  const review = await reviewTiers(db, { programId: program.id, now: new Date('2026-01-02T12:00:00Z'), batchSize: options.batchSize });
  const reviewSeconds = (performance.now() - reviewStart) / 1000;
  return {
    members, setupSeconds, reviewSeconds, membersPerSecond: Math.round(review.members / reviewSeconds), review,
    tiersAfter: await benchOutcome(db, program.id),
  };
}
