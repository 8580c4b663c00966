import { ProblemError } from '../http/error-codes.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { costFor, redeem } from './redemption-operations.ts';
import * as repo from './reward-repository.ts';
import { memberTier } from './reward-tier.ts';

/** A runaway guard: one call never issues more notes than this per reward. */
const MAX_NOTES_PER_REWARD = 100;

/**
 * Issues the automatic gift notes a member's balance has reached (Nordstrom: every 2,000 points
 * become a $20 note), as the system, in the caller's transaction. Call it after an earn, in the
 * same transaction or later; calling it again issues nothing more, because each note spends its
 * threshold. A note the member cannot have now (window, tier, limit, stock, pool) is skipped
 * without changing anything.
 */
export async function issueThresholdNotes(ctx: LedgerContext, memberId: string) {
  const rewards = await repo.autoIssueRewards(ctx.trx, ctx.program.id);
  if (rewards.length === 0) return [];
  const member = await findMemberRow(ctx.trx, ctx.program.id, memberId);
  if (!member || member.status !== 'active') return [];
  const tier = await memberTier(ctx.trx, ctx.program.id, memberId, ctx.now);
  const system: LedgerContext = { ...ctx, actor: 'system' };
  const issued: Awaited<ReturnType<typeof redeem>>[] = [];
  for (const reward of rewards) {
    const cost = costFor(reward, tier);
    if (cost <= 0) continue;
    for (let n = 0; n < MAX_NOTES_PER_REWARD; n++) {
      if ((await repo.availablePoints(ctx.trx, memberId, reward.wallet_id)) < cost) break;
      // A refused note must leave no trace (a unit of stock taken before the spend failed, say).
      const savepoint = `threshold_note_${n}`;
      await repo.savepoint(ctx.trx, savepoint);
      try {
        issued.push(await redeem(system, { memberId, rewardId: reward.id }));
        await repo.releaseSavepoint(ctx.trx, savepoint);
      } catch (error) {
        if (!(error instanceof ProblemError) || error.status >= 500) throw error;
        await repo.rollbackToSavepoint(ctx.trx, savepoint);
        break;
      }
    }
  }
  return issued;
}

/** The API's variant: an unknown member (or another program's) is a 404, not an empty answer. */
export async function issueMemberThresholdNotes(ctx: LedgerContext, memberId: string) {
  if (!(await findMemberRow(ctx.trx, ctx.program.id, memberId))) throw new ProblemError('member_not_found', `no member ${memberId} in this program`);
  return { issued: await issueThresholdNotes(ctx, memberId) };
}
