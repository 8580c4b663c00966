import { recordEvent } from '../events/event-repository.ts';
import { ProblemError } from '../http/error-codes.ts';
import type { LedgerContext, Reference } from '../ledger/ledger-operations.ts';
import type { MemberRow } from '../members/member-repository.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { lockMember } from '../orders/order-repository.ts';
import { settleComponent, vestingDate } from '../rules/award-ledger.ts';
import * as awardRepo from '../rules/award-repository.ts';
import type { CompiledRule } from '../rules/compile-rule.ts';
import { evaluateAction, type ActionEvaluation } from '../rules/evaluate-action.ts';
import { totalsByWallet } from '../rules/evaluate-order.ts';
import { periodBounds, type Period } from '../rules/local-time.ts';
import { loadMemberContext } from '../rules/member-context.ts';
import { settleProgress } from '../rules/progress-operations.ts';
import { actionTypes, rulesInForce, walletDefaults } from '../rules/rule-operations.ts';
import * as ruleRepo from '../rules/rule-repository.ts';
import * as repo from './action-repository.ts';
import { programDetails } from '../ledger/ledger-context.ts';
import { decodeKeyCursor, encodeKeyCursor, keyOf } from '../http/cursor.ts';

export interface ActionInput {
  memberId: string;
  type: string;
  quantity?: number;
  occurredAt?: string;
  reference?: Reference | null;
  attributes?: Record<string, unknown>;
}

type ActionRow = NonNullable<Awaited<ReturnType<typeof repo.findAction>>>;

const SIGN_UP = 'sign_up';

/** Caps and frequency limits of the matching rules, counted from what those rules gave before. */
async function usageFor(ctx: LedgerContext, memberId: string, rules: CompiledRule[], type: string, at: Date) {
  const capUsage: Record<string, number> = {};
  const limitUsage: Record<string, Partial<Record<Period, number>>> = {};
  for (const rule of rules) {
    if (rule.kind !== 'action' || rule.config.action !== type) continue;
    const cap = rule.config.caps?.perMember;
    if (cap) capUsage[rule.ruleId] = (await ruleRepo.rulePointsWithin(ctx.trx, memberId, rule.ruleId, periodBounds(cap.period, at, ctx.program.time_zone), null)).points;
    for (const limit of rule.config.limits ?? []) {
      (limitUsage[rule.ruleId] ??= {})[limit.period] = (await ruleRepo.rulePointsWithin(ctx.trx, memberId, rule.ruleId, periodBounds(limit.period, at, ctx.program.time_zone), null)).events;
    }
  }
  return { capUsage, limitUsage };
}

/**
 * Records an action (review, survey, partner activity…) and awards what the rules in force at
 * its time give, within their frequency limits and caps. The same reference (e.g. the review's
 * id) is only ever rewarded once per member and type.
 */
export async function recordAction(ctx: LedgerContext, input: ActionInput) {
  const member = await findMemberRow(ctx.trx, ctx.program.id, input.memberId);
  if (!member) throw new ProblemError('member_not_found', `no member ${input.memberId} in this program`);
  if (member.status !== 'active') throw new ProblemError('member_blocked', `member ${input.memberId} is blocked`, { memberId: input.memberId });
  const occurredAt = input.occurredAt ? new Date(input.occurredAt) : ctx.now;
  if (occurredAt > ctx.now) throw new ProblemError('validation_failed', 'occurredAt is in the future', { field: 'occurredAt' });
  const rules = await rulesInForce(ctx.trx, ctx.program.id, occurredAt);
  if (!actionTypes(rules).has(input.type)) {
    const known = [...actionTypes(rules)].sort();
    throw new ProblemError('unknown_action_type', `no rule in force uses action "${input.type}"${known.length ? ` (known: ${known.join(', ')})` : ''}`, { type: input.type, known });
  }
  await lockMember(ctx.trx, ctx.program.id, member.id);
  if (input.reference) {
    const existing = await repo.findActionByReference(ctx.trx, member.id, input.type, input.reference);
    if (existing) return { duplicate: true, action: await actionView(ctx, existing) };
  }
  return { duplicate: false, action: await awardAction(ctx, member, rules, { type: input.type, quantity: input.quantity ?? 1, occurredAt, reference: input.reference ?? null, attributes: input.attributes ?? {} }) };
}

async function awardAction(
  ctx: LedgerContext, member: MemberRow, rules: CompiledRule[],
  input: { type: string; quantity: number; occurredAt: Date; reference: Reference | null; attributes: Record<string, unknown> },
) {
  const program = await programDetails(ctx);
  const wallets = await walletDefaults(ctx.trx, ctx.program.id);
  const usage = await usageFor(ctx, member.id, rules, input.type, input.occurredAt);
  const evaluation = evaluateAction({ type: input.type, quantity: input.quantity, occurredAt: input.occurredAt }, {
    member: await loadMemberContext(ctx.trx, ctx.program.id, member.id, ctx.now, member), timeZone: ctx.program.time_zone,
    currency: { code: program.currency, exponent: program.currency_exponent }, wallets, ...usage,
  }, rules);
  const row = await repo.insertAction(ctx.trx, {
    program_id: ctx.program.id, member_id: member.id, type: input.type, quantity: input.quantity, occurred_at: input.occurredAt,
    reference_type: input.reference?.type ?? null, reference_id: input.reference?.id ?? null, attributes: input.attributes, created_at: ctx.now,
  });
  // The action row is new: its components, rule points and progress hold nothing yet.
  const reference = { type: 'action', id: row.id };
  const groups = new Map<string, ActionEvaluation['items']>();
  for (const item of evaluation.items) {
    const key = `action:${row.id}:${item.wallet}:${item.pending.days}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  for (const [component, items] of groups) {
    await settleComponent(ctx, {
      memberId: member.id, memberActive: true, wallet: items[0]!.wallet, component, desired: items.reduce((s, i) => s + i.points, 0),
      vestsAt: vestingDate(input.occurredAt, items[0]!.pending.days), orderId: null, actionId: row.id, reference, isNew: true,
      description: `${input.type}: ${items.map((i) => `${i.name} ${i.points}`).join(' + ')}`,
      breakdown: items.map((i) => ({ ruleId: i.ruleId, version: i.version, name: i.name, kind: i.kind, wallet: i.wallet, points: i.points, why: i.why })),
    });
  }
  const perRule = new Map<string, number>();
  for (const item of evaluation.items) perRule.set(item.ruleId, (perRule.get(item.ruleId) ?? 0) + item.points);
  await ruleRepo.replaceRulePoints(ctx.trx, { programId: ctx.program.id, memberId: member.id, type: 'action', id: row.id, occurredAt: input.occurredAt, isNew: true }, perRule);
  const progress = await settleProgress(ctx, { id: member.id, active: true }, {
    type: 'action', id: row.id, occurredAt: input.occurredAt, vestingBasis: input.occurredAt, reference, label: `${input.type} action`, isNew: true,
  }, evaluation.contributions.map((c) => ({ ruleId: c.ruleId, version: c.version, periodKey: c.periodKey, amount: 1 })), wallets);
  const saved = await repo.setActionResult(ctx.trx, row.id, totalsByWallet(evaluation.items), { items: evaluation.items, notApplied: evaluation.notApplied, progress });
  await recordEvent(ctx.trx, ctx.program.id, 'action.recorded', member.id, {
    memberId: member.id, actionId: row.id, type: input.type, quantity: input.quantity, points: totalsByWallet(evaluation.items),
  });
  return actionView(ctx, saved);
}

/**
 * A new member: the sign-up bonus, if the program has a "sign_up" action rule. Runs in the
 * transaction that creates the member, once per member.
 */
export async function awardSignUp(ctx: LedgerContext, member: MemberRow) {
  if (member.status !== 'active') return null;
  const rules = await rulesInForce(ctx.trx, ctx.program.id, ctx.now);
  if (!actionTypes(rules).has(SIGN_UP)) return null;
  const reference = { type: 'member', id: member.id };
  if (await repo.findActionByReference(ctx.trx, member.id, SIGN_UP, reference)) return null;
  return awardAction(ctx, member, rules, { type: SIGN_UP, quantity: 1, occurredAt: ctx.now, reference, attributes: {} });
}

export async function listActions(ctx: LedgerContext, memberId: string, query: { type?: string; cursor?: string; limit?: number }) {
  if (!(await findMemberRow(ctx.trx, ctx.program.id, memberId))) throw new ProblemError('member_not_found');
  const limit = query.limit ?? 50;
  const before = query.cursor ? keyOf(decodeKeyCursor(query.cursor)) : undefined;
  const rows = await repo.actionsOfMember(ctx.trx, memberId, { type: query.type, before, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const awards = await awardRepo.awardsOf(ctx.trx, 'action_id', page.map((r) => r.id));
  const data = [];
  for (const row of page) data.push(await actionView(ctx, row, awards.get(row.id) ?? []));
  const last = page[page.length - 1];
  return { data, nextCursor: rows.length > limit && last ? encodeKeyCursor(last.created_at, last.id) : null };
}

/** `awards`: given by a list, which loads them for its whole page at once. */
export async function actionView(ctx: LedgerContext, row: ActionRow, awards?: awardRepo.AwardRow[]) {
  const evaluation = row.evaluation as { items?: ActionEvaluation['items']; notApplied?: ActionEvaluation['notApplied']; progress?: unknown[] };
  awards ??= await awardRepo.awardsOfAction(ctx.trx, row.id);
  return {
    id: row.id,
    memberId: row.member_id,
    type: row.type,
    quantity: row.quantity,
    occurredAt: row.occurred_at.toISOString(),
    reference: row.reference_type && row.reference_id ? { type: row.reference_type, id: row.reference_id } : null,
    attributes: row.attributes,
    points: row.points as Record<string, number>,
    breakdown: (evaluation.items ?? []).map((i) => ({ ruleId: i.ruleId, version: i.version, name: i.name, kind: i.kind, wallet: i.wallet, points: i.points, why: i.why })),
    notApplied: evaluation.notApplied ?? [],
    operations: awards.map((a) => ({ operationId: a.operation_id, wallet: a.wallet, amount: a.amount, reversed: a.reversed, pending: a.vested === false, vestsAt: a.vests_at?.toISOString() ?? null })),
    createdAt: row.created_at.toISOString(),
  };
}
