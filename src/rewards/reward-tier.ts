import type { Executor } from '../db/database.ts';
import { currentTier } from '../tiers/tier-operations.ts';

/**
 * The one place rewards learn a member's tier: its code, as `allowedTiers` and `tierCosts` name
 * it, at `now` (the request's clock); null when the member holds no tier or the program has no
 * ladder.
 */
export async function memberTier(db: Executor, programId: string, memberId: string, now: Date): Promise<string | null> {
  return (await currentTier(db, programId, memberId, now))?.code ?? null;
}
