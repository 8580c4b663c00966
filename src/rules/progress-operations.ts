import { recordEvent } from '../events/event-repository.ts';
import type { LedgerContext, Reference } from '../ledger/ledger-operations.ts';
import { settleComponent, vestingDate } from './award-ledger.ts';
import { progressStatus } from './progress.ts';
import { compiledVersion } from './rule-operations.ts';
import * as repo from './rule-repository.ts';

export interface ProgressSource {
  type: 'order' | 'action';
  id: string;
  occurredAt: Date;
  /** When pending points of a bonus this source triggers start their return window. */
  vestingBasis: Date;
  reference: Reference;
  label: string;
  /** Created in this transaction: it has contributed nothing yet, so there is nothing to read. */
  isNew?: boolean;
}

export interface ProgressChange {
  ruleId: string;
  periodKey: string;
  progress: number;
  reached: number;
  points: number;
  earned: number;
  reversed: number;
}

export const progressComponent = (ruleId: string, periodKey: string) => `progress:${ruleId}:${periodKey}`;

/**
 * Records what one order or action now adds to thresholds and challenges (after its refunds),
 * then moves each affected bonus to what the member's total progress is worth: a refund that
 * takes the total below a step takes that step's bonus back.
 */
export async function settleProgress(
  ctx: LedgerContext,
  member: { id: string; active: boolean },
  source: ProgressSource,
  contributions: { ruleId: string; version: number; periodKey: string; amount: number }[],
  wallets: Record<string, { pendingDays: number }>,
): Promise<ProgressChange[]> {
  const before = source.isNew ? [] : await repo.contributionsOfSource(ctx.trx, member.id, source.type, source.id);
  const same = before.length === contributions.filter((c) => c.amount > 0).length
    && before.every((b) => contributions.some((c) => c.ruleId === b.rule_id && c.periodKey === b.period_key && c.amount === b.amount && c.version === b.rule_version));
  if (!same) await repo.replaceContributions(ctx.trx, { programId: ctx.program.id, memberId: member.id, type: source.type, id: source.id, occurredAt: source.occurredAt }, contributions);
  const affected = new Map<string, { ruleId: string; periodKey: string; version: number }>();
  for (const b of before) affected.set(`${b.rule_id}|${b.period_key}`, { ruleId: b.rule_id, periodKey: b.period_key, version: b.rule_version });
  for (const c of contributions) affected.set(`${c.ruleId}|${c.periodKey}`, { ruleId: c.ruleId, periodKey: c.periodKey, version: c.version });

  const changes: ProgressChange[] = [];
  for (const { ruleId, periodKey, version: fallback } of affected.values()) {
    const { total, version } = await repo.progressTotal(ctx.trx, member.id, ruleId, periodKey);
    const rule = await compiledVersion(ctx.trx, ctx.program.id, ruleId, version ?? fallback);
    if (!rule || (rule.kind !== 'threshold' && rule.kind !== 'challenge')) continue;
    const status = progressStatus(rule.kind, rule.config, total);
    const goal = rule.kind === 'threshold' ? `every ${rule.config.everyAmountMinor} spent` : `${rule.config.target} × ${rule.config.counts?.type === 'action' ? rule.config.counts.action : 'orders'}`;
    const component = progressComponent(ruleId, periodKey);
    const result = await settleComponent(ctx, {
      memberId: member.id, memberActive: member.active, wallet: rule.wallet, component, desired: status.points,
      vestsAt: vestingDate(source.vestingBasis, rule.config.pending?.days ?? wallets[rule.wallet]?.pendingDays ?? 0),
      orderId: source.type === 'order' ? source.id : null, actionId: source.type === 'action' ? source.id : null,
      reference: source.reference,
      description: `${rule.name}: reached ${status.reached}× (${goal}) in ${periodKey} — ${source.label}`,
      breakdown: [{
        ruleId, version: rule.version, name: rule.name, kind: rule.kind, wallet: rule.wallet, points: status.points,
        why: `progress ${status.progress} in ${periodKey}: ${status.reached} × ${rule.config.points} points (${goal})`,
      }],
    });
    if (result.earned > 0 || result.reversed > 0) {
      await recordEvent(ctx.trx, ctx.program.id, result.earned > 0 ? 'progress.reached' : 'progress.lost', member.id, {
        memberId: member.id, ruleId, kind: rule.kind, name: rule.name, periodKey, progress: status.progress, reached: status.reached,
        points: status.points, earned: result.earned, reversed: result.reversed, source: { type: source.type, id: source.id },
      });
    }
    changes.push({ ruleId, periodKey, progress: status.progress, reached: status.reached, points: status.points, earned: result.earned, reversed: result.reversed });
  }
  return changes;
}
