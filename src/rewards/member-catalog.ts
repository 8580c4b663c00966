import { ProblemError } from '../http/error-codes.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { balances } from '../ledger/ledger-reads.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { costFor, limitBlocker, staticBlockers, type Blocker } from './redemption-operations.ts';
import { weekdayNames } from './reward-availability.ts';
import * as repo from './reward-repository.ts';
import { memberTier } from './reward-tier.ts';
import { localized, type Image } from './reward-views.ts';

/**
 * The catalog as one member sees it: every public, active reward with its price for the member's
 * tier, whether they can redeem it now, and if not, why, and how many points they are missing.
 */
export async function memberCatalog(ctx: LedgerContext, memberId: string, options: { locale?: string }) {
  const member = await findMemberRow(ctx.trx, ctx.program.id, memberId);
  if (!member) throw new ProblemError('member_not_found');
  const locale = options.locale ?? member.locale ?? undefined;
  const wallets = new Map((await balances(ctx, memberId)).map((b) => [b.wallet, b.available]));
  const tier = await memberTier(ctx.trx, ctx.program.id, memberId, ctx.now);
  const rewards = await repo.listActiveRewards(ctx.trx, ctx.program.id);
  const pools = await repo.poolCounts(ctx.trx, rewards.filter((r) => r.code_source === 'pool').map((r) => r.id));
  const data = [];
  for (const reward of rewards) {
    const cost = costFor(reward, tier);
    const available = Math.max(0, wallets.get(reward.wallet_code) ?? 0);
    const blockers: Blocker[] = staticBlockers(ctx, reward, tier);
    const limit = await limitBlocker(ctx, reward, memberId);
    if (limit) blockers.push(limit);
    if (reward.stock_remaining === 0) blockers.push({ code: 'reward_out_of_stock', detail: 'out of stock', extra: {} });
    if (reward.code_source === 'pool' && (pools.get(reward.id)?.available ?? 0) === 0) {
      blockers.push({ code: 'code_pool_exhausted', detail: 'no codes left', extra: {} });
    }
    const missingPoints = Math.max(0, cost - available);
    if (missingPoints > 0) blockers.push({ code: 'insufficient_points', detail: `${missingPoints} more points needed`, extra: { missingPoints } });
    const text = localized(reward, locale);
    const images = (reward.images as Image[]).filter((i) => !i.locale || !text.locale || i.locale === text.locale);
    data.push({
      reward: {
        id: reward.id, code: reward.code, kind: reward.kind, name: text.name, description: text.description, terms: text.terms,
        locale: text.locale, images, wallet: reward.wallet_code, benefit: reward.benefit,
        availability: { startsAt: reward.starts_at?.toISOString() ?? null, endsAt: reward.ends_at?.toISOString() ?? null, weekdays: weekdayNames(reward.weekdays) },
        stockRemaining: reward.stock_remaining,
      },
      costPoints: cost,
      availablePoints: available,
      missingPoints,
      redeemableNow: blockers.length === 0,
      blockers: blockers.map((b) => ({ code: b.code, detail: b.detail, ...(b.extra.nextOpensAt !== undefined ? { nextOpensAt: b.extra.nextOpensAt as string | null } : {}) })),
    });
  }
  data.sort((a, b) => Number(b.redeemableNow) - Number(a.redeemableNow) || a.missingPoints - b.missingPoints || a.costPoints - b.costPoints);
  return { memberId, tier, locale: locale ?? null, data };
}
