import type { CompiledRule } from './compile-rule.ts';
import { ruleBlocked, type MemberContext } from './conditions.ts';
import { applyCaps, type AwardItem, type SkippedRule } from './evaluate-order.ts';
import { localTime, periodKey, type Period } from './local-time.ts';
import { mulDiv } from './points-math.ts';

export interface ActionInput {
  type: string;
  quantity: number;
  occurredAt: Date;
}

export interface ActionContext {
  member: MemberContext;
  timeZone: string;
  currency: { code: string; exponent: number };
  wallets: Record<string, { pendingDays: number }>;
  /** Points each rule already gave this member in its cap period (by rule id). */
  capUsage: Record<string, number>;
  /** Rewarded events so far per rule id and limit period. */
  limitUsage: Record<string, Partial<Record<Period, number>>>;
}

export interface ActionContribution {
  ruleId: string;
  version: number;
  name: string;
  periodKey: string;
}

export interface ActionEvaluation {
  items: AwardItem[];
  notApplied: SkippedRule[];
  contributions: ActionContribution[];
}

const PERIOD_TEXT: Record<Period, string> = { day: 'per day', week: 'per week', month: 'per month', year: 'per year', lifetime: 'ever' };

/**
 * Points for an action (review, survey, partner activity with a quantity…). Pure, like order
 * evaluation: frequency limits and caps come in as counts, the award and its reasons go out.
 * `rules` must be sorted by priority.
 */
export function evaluateAction(action: ActionInput, ctx: ActionContext, rules: readonly CompiledRule[]): ActionEvaluation {
  const local = localTime(action.occurredAt, ctx.timeZone);
  const items: AwardItem[] = [];
  const notApplied: SkippedRule[] = [];
  const contributions: ActionContribution[] = [];
  const subject = { local, store: null, channel: null, orderValueMinor: null, orderNumber: null, member: ctx.member, currency: ctx.currency };
  let stoppedBy: CompiledRule | null = null;
  for (const rule of rules) {
    const isAction = rule.kind === 'action' && rule.config.action === action.type;
    const isChallenge = rule.kind === 'challenge' && rule.config.counts?.type === 'action' && rule.config.counts.action === action.type;
    if (!isAction && !isChallenge) continue;
    const skip = (reason: string) => notApplied.push({ ruleId: rule.ruleId, version: rule.version, name: rule.name, kind: rule.kind, reason });
    const blocked = ruleBlocked(rule, subject, stoppedBy);
    if (blocked) {
      skip(blocked);
      continue;
    }
    const cfg = rule.config;
    if (isChallenge) {
      contributions.push({ ruleId: rule.ruleId, version: rule.version, name: rule.name, periodKey: periodKey(cfg.period!, local) });
      if (rule.stopFurther) stoppedBy = rule;
      continue;
    }
    const limit = (cfg.limits ?? []).find((l) => (ctx.limitUsage[rule.ruleId]?.[l.period] ?? 0) >= l.count);
    if (limit) {
      skip(`limit of ${limit.count} ${PERIOD_TEXT[limit.period]} reached`);
      continue;
    }
    let points = cfg.points ?? 0;
    const parts: string[] = [];
    if (cfg.points) parts.push(`${cfg.points} per ${action.type}`);
    if (cfg.perUnit) {
      const unitPoints = mulDiv(action.quantity, cfg.perUnit.points, cfg.perUnit.quantity, cfg.rounding ?? 'floor');
      points += unitPoints;
      parts.push(`${cfg.perUnit.points} per ${cfg.perUnit.quantity} units × ${action.quantity} = ${unitPoints}`);
    }
    let why = parts.join(' + ');
    if (points === 0) {
      skip(`rounds to 0 points (${why})`);
      continue;
    }
    const capped = applyCaps(rule, points, ctx);
    if (capped.points === 0) {
      skip(capped.note);
      continue;
    }
    if (capped.points < points) why += `; ${capped.note}`;
    items.push({
      ruleId: rule.ruleId, version: rule.version, name: rule.name, kind: rule.kind, wallet: rule.wallet, points: capped.points, why,
      attribution: { lines: [], order: capped.points },
      pending: { days: cfg.pending?.days ?? ctx.wallets[rule.wallet]?.pendingDays ?? 0, from: 'paid' },
    });
    if (rule.stopFurther) stoppedBy = rule;
  }
  return { items, notApplied, contributions };
}
