import { ProblemError } from '../http/error-codes.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { countMemberOrders, findStoreByCode } from '../orders/order-repository.ts';
import { orderInput, type OrderLineDetails } from '../orders/order-state.ts';
import { pointsByLine } from '../orders/refund-share.ts';
import * as awardRepo from './award-repository.ts';
import type { CompiledRule } from './compile-rule.ts';
import { evaluateOrder, totalsByWallet } from './evaluate-order.ts';
import { localTime, periodBounds, periodKey } from './local-time.ts';
import { loadMemberContext } from './member-context.ts';
import { progressStatus } from './progress.ts';
import { ORDER_RULE_KINDS } from './rule-config.ts';
import { compiledVersion, getEarningSettings, rulesInForce, walletDefaults } from './rule-operations.ts';
import * as repo from './rule-repository.ts';
import { programDetails } from '../ledger/ledger-context.ts';
import { decodeIdCursor } from '../http/cursor.ts';

export interface PreviewInput {
  memberId?: string;
  store?: string;
  channel?: string;
  cart?: { lines: OrderLineDetails[]; discountMinor?: number; shippingMinor?: number; taxMinor?: number; paidWithPointsMinor?: number };
  product?: Omit<OrderLineDetails, 'id' | 'quantity'> & { quantity?: number };
}

/**
 * What a cart or a product would earn this member now, with every rule that applies and every
 * rule that does not and why. Reads only: nothing is written, no progress is counted.
 */
export async function preview(ctx: LedgerContext, input: PreviewInput) {
  // Another program's member id answers 404 before anything else is looked at.
  const member = input.memberId ? await findMemberRow(ctx.trx, ctx.program.id, input.memberId) : null;
  if (input.memberId && !member) throw new ProblemError('member_not_found', `no member ${input.memberId} in this program`);
  if (!input.cart === !input.product) throw new ProblemError('validation_failed', 'send either cart or product', { field: 'cart' });
  const program = await programDetails(ctx);
  const store = input.store ? await findStoreByCode(ctx.trx, ctx.program.id, input.store) : null;
  if (input.store && !store) throw new ProblemError('unknown_store', `this program has no store "${input.store}"`, { store: input.store });
  const lines: OrderLineDetails[] = input.cart?.lines ?? [{ id: 'product', quantity: 1, ...input.product! }];
  if (new Set(lines.map((l) => l.id)).size !== lines.length) throw new ProblemError('invalid_order', 'a line id is used twice', { field: 'cart.lines' });
  const rules = (await rulesInForce(ctx.trx, ctx.program.id, ctx.now)).filter((r) => ORDER_RULE_KINDS.has(r.kind));
  const capUsage: Record<string, number> = {};
  if (member) {
    for (const rule of rules) {
      const cap = rule.config.caps?.perMember;
      if (cap) capUsage[rule.ruleId] = (await repo.rulePointsWithin(ctx.trx, member.id, rule.ruleId, periodBounds(cap.period, ctx.now, ctx.program.time_zone), null)).points;
    }
  }
  const settings = await getEarningSettings(ctx.trx, ctx.program.id);
  const evaluation = evaluateOrder(
    orderInput({ currency: program.currency, channel: input.channel ?? store?.kind, lines, discountMinor: input.cart?.discountMinor, shippingMinor: input.cart?.shippingMinor, taxMinor: input.cart?.taxMinor, paidWithPoints: input.cart?.paidWithPointsMinor ? { amountMinor: input.cart.paidWithPointsMinor } : undefined }, ctx.now, store?.code ?? null),
    {
      member: member ? await loadMemberContext(ctx.trx, ctx.program.id, member.id, ctx.now) : null,
      orderNumber: member ? (await countMemberOrders(ctx.trx, member.id)) + 1 : null,
      capUsage, timeZone: ctx.program.time_zone, currency: { code: program.currency, exponent: program.currency_exponent },
      wallets: await walletDefaults(ctx.trx, ctx.program.id), pendingFrom: settings.pendingFrom,
    },
    rules,
  );
  const progress = [];
  for (const c of evaluation.contributions) {
    const rule = rules.find((r) => r.ruleId === c.ruleId)!;
    const before = member ? (await repo.progressTotal(ctx.trx, member.id, c.ruleId, c.periodKey)).total : 0;
    const added = c.kind === 'threshold' ? c.amountMinor : 1;
    const was = progressStatus(c.kind, rule.config, before);
    const would = progressStatus(c.kind, rule.config, before + added);
    progress.push({
      ruleId: c.ruleId, name: c.name, kind: c.kind, periodKey: c.periodKey, wallet: rule.wallet, before, after: before + added,
      goal: would.goal, bonusPoints: would.points - was.points, toNext: would.toNext,
    });
  }
  return {
    at: ctx.now.toISOString(),
    memberId: member?.id ?? null,
    points: totalsByWallet(evaluation.items),
    breakdown: evaluation.items.map((i) => ({
      ruleId: i.ruleId, version: i.version, name: i.name, kind: i.kind, wallet: i.wallet, points: i.points, why: i.why, pending: i.pending,
      lines: pointsByLine(i.attribution, evaluation.lineIds),
    })),
    notApplied: evaluation.notApplied,
    progress,
  };
}

/** A member's threshold and challenge progress: the current period of every such rule in force, then past periods. */
export async function memberProgress(ctx: LedgerContext, memberId: string) {
  if (!(await findMemberRow(ctx.trx, ctx.program.id, memberId))) throw new ProblemError('member_not_found');
  const rows = await repo.progressOfMember(ctx.trx, memberId);
  const local = localTime(ctx.now, ctx.program.time_zone);
  const inForce = (await rulesInForce(ctx.trx, ctx.program.id, ctx.now)).filter((r) => r.kind === 'threshold' || r.kind === 'challenge');
  const view = (rule: CompiledRule, key: string, total: number) => {
    const s = progressStatus(rule.kind as 'threshold' | 'challenge', rule.config, total);
    return {
      ruleId: rule.ruleId, name: rule.name, kind: rule.kind, periodKey: key, wallet: rule.wallet,
      counts: rule.kind === 'threshold' ? 'spend' : rule.config.counts?.type === 'action' ? `action:${rule.config.counts.action}` : 'orders',
      progress: s.progress, goal: s.goal, reached: s.reached, points: s.points, toNext: s.toNext, complete: s.complete,
    };
  };
  const current = inForce.map((rule) => {
    const key = periodKey(rule.config.period ?? 'lifetime', local);
    const row = rows.find((r) => r.rule_id === rule.ruleId && r.period_key === key);
    return view(rule, key, row ? Number(row.total) : 0);
  });
  const past = [];
  for (const row of rows) {
    if (current.some((c) => c.ruleId === row.rule_id && c.periodKey === row.period_key)) continue;
    const rule = await compiledVersion(ctx.trx, ctx.program.id, row.rule_id, Number(row.version));
    if (rule) past.push(view(rule, row.period_key, Number(row.total)));
  }
  return { current, past };
}

/** Every award of a member, newest first, each with the rules that made it and why. */
export async function memberAwards(ctx: LedgerContext, memberId: string, query: { cursor?: string; limit?: number }) {
  if (!(await findMemberRow(ctx.trx, ctx.program.id, memberId))) throw new ProblemError('member_not_found');
  const limit = query.limit ?? 50;
  const beforeId = decodeIdCursor(query.cursor);
  const rows = await awardRepo.awardsOfMember(ctx.trx, memberId, { beforeId, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const reversals = await awardRepo.reversalsOf(ctx.trx, page.map((r) => r.operation_id));
  return {
    data: page.map((a) => ({
      operationId: a.operation_id,
      wallet: a.wallet,
      amount: a.amount,
      reversed: a.reversed,
      pending: a.vested === false,
      vestsAt: a.vests_at?.toISOString() ?? null,
      source: a.order_id
        ? { type: 'order', id: a.order_id, orderId: a.order_external_id, actionType: null }
        : { type: 'action', id: a.action_id, orderId: null, actionType: a.action_type },
      component: a.component,
      breakdown: a.breakdown as { ruleId: string; version: number; name: string; kind: string; wallet: string; points: number; why: string }[],
      reversals: reversals.filter((r) => r.target_operation_id === a.operation_id).map((r) => ({
        operationId: r.id, amount: r.amount, description: r.description, createdAt: r.created_at.toISOString(),
      })),
      createdAt: a.created_at.toISOString(),
    })),
    nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
  };
}
