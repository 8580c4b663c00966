import type { CompiledRule, Matcher } from './compile-rule.ts';
import { ruleBlocked, type MemberContext } from './conditions.ts';
import { localTime, periodKey, type LocalTime } from './local-time.ts';
import { apportion, formatMoney, mulDiv } from './points-math.ts';
import type { PendingFrom, RuleKind } from './rule-config.ts';

export type { MemberContext };

export interface OrderLine {
  id: string;
  sku: string | null;
  productId: string | null;
  categories: string[];
  tags: string[];
  quantity: number;
  unitPriceMinor: number;
  /** Discount on the whole line (all units), minor units. */
  discountMinor: number;
  giftCard: boolean;
}

export interface OrderInput {
  placedAt: Date;
  store: string | null;
  channel: string | null;
  lines: OrderLine[];
  /** Order-level discount, spread over the lines by value. */
  discountMinor: number;
  shippingMinor: number;
  taxMinor: number;
  /** Money value the member paid with points or rewards; by default it earns nothing. */
  paidWithPointsMinor: number;
}

export interface EvaluationContext {
  member: MemberContext | null;
  /** The member's nth order (1 = first); null when unknown (e.g. an anonymous preview). */
  orderNumber: number | null;
  /** Points each rule (by rule id) already gave this member in the rule's cap period, other sources only. */
  capUsage: Record<string, number>;
  timeZone: string;
  currency: { code: string; exponent: number };
  /** Default pending days per wallet code. */
  wallets: Record<string, { pendingDays: number }>;
  /** Program default: the return window counts from the paid or the fulfilled event. */
  pendingFrom: PendingFrom;
}

/**
 * Where an award's points come from: per order line (index-aligned with the order's lines, see
 * OrderEvaluation.lineIds; empty when none) and the order as a whole.
 */
export interface Attribution {
  lines: number[];
  order: number;
}

export interface AwardItem {
  ruleId: string;
  version: number;
  name: string;
  kind: RuleKind;
  wallet: string;
  points: number;
  why: string;
  attribution: Attribution;
  pending: { days: number; from: PendingFrom };
}

export interface SkippedRule {
  ruleId: string;
  version: number;
  name: string;
  kind: RuleKind;
  reason: string;
}

/** What an order adds to a cross-order rule (threshold spend, challenge count), before refunds. */
export interface Contribution {
  ruleId: string;
  version: number;
  name: string;
  kind: 'threshold' | 'challenge';
  periodKey: string;
  /** Threshold: eligible spend; challenge: eligible spend that must stay ≥ minOrderMinor to count. */
  attribution: Attribution;
  amountMinor: number;
  minOrderMinor: number;
}

export interface OrderEvaluation {
  /** The order's line ids, in the order the attributions list their points. */
  lineIds: string[];
  items: AwardItem[];
  notApplied: SkippedRule[];
  contributions: Contribution[];
  /** Merchandise after discounts (before the points payment). */
  orderValueMinor: number;
  localDate: string;
}

interface PreparedLine {
  line: OrderLine;
  /** After line and order discounts. */
  net: number;
  /** net minus the share paid with points. */
  money: number;
}

interface Prepared {
  lines: PreparedLine[];
  local: LocalTime;
  orderValue: number;
}

function prepareLines(order: OrderInput): PreparedLine[] {
  const afterLine = order.lines.map((l) => Math.max(0, l.quantity * l.unitPriceMinor - l.discountMinor));
  const totalAfterLine = afterLine.reduce((s, v) => s + v, 0);
  const orderDiscount = Math.min(order.discountMinor, totalAfterLine);
  const discountParts = orderDiscount > 0 ? apportion(orderDiscount, afterLine) : null;
  const nets = afterLine.map((v, i) => v - (discountParts?.[i] ?? 0));
  const totalNet = nets.reduce((s, v) => s + v, 0);
  // A points payment beyond the merchandise covered shipping or tax.
  const pointsOnLines = Math.min(order.paidWithPointsMinor, totalNet);
  const pointsParts = pointsOnLines > 0 ? apportion(pointsOnLines, nets) : null;
  return order.lines.map((line, i) => ({ line, net: nets[i]!, money: nets[i]! - (pointsParts?.[i] ?? 0) }));
}

function prepare(order: OrderInput, timeZone: string): Prepared {
  const lines = prepareLines(order);
  return { lines, local: localTime(order.placedAt, timeZone), orderValue: lines.reduce((s, l) => s + l.net, 0) };
}

/** Each line's value after discounts (net) and without the share paid with points (money). */
export function lineValues(order: OrderInput): { id: string; net: number; money: number }[] {
  return prepareLines(order).map((p) => ({ id: p.line.id, net: p.net, money: p.money }));
}

function matches(m: Matcher, l: OrderLine): boolean {
  if (m.skus && l.sku !== null && m.skus.has(l.sku)) return true;
  if (m.productIds && l.productId !== null && m.productIds.has(l.productId)) return true;
  if (m.categories) for (const c of l.categories) if (m.categories.has(c)) return true;
  if (m.tags) for (const t of l.tags) if (m.tags.has(t)) return true;
  return false;
}

function selected(rule: CompiledRule, l: OrderLine): boolean {
  if (rule.lines && !matches(rule.lines, l)) return false;
  if (rule.exclude && matches(rule.exclude, l)) return false;
  return true;
}

interface Eligible {
  perLine: number[];
  order: number;
  total: number;
  notes: string[];
}

/** The amount a spend-based rule counts: selected lines, minus exclusions, plus shipping/tax if included. */
function eligibleAmount(rule: CompiledRule, p: Prepared, order: OrderInput): Eligible {
  const cfg = rule.config;
  const excludeGiftCards = cfg.excludeGiftCards !== false;
  const excludePoints = cfg.excludePaidWithPoints !== false;
  const perLine = new Array<number>(p.lines.length);
  let total = 0;
  for (let i = 0; i < p.lines.length; i++) {
    const pl = p.lines[i]!;
    const ok = !(excludeGiftCards && pl.line.giftCard) && selected(rule, pl.line);
    const value = ok ? (excludePoints ? pl.money : pl.net) : 0;
    perLine[i] = value;
    total += value;
  }
  let orderPart = 0;
  if (cfg.includeShipping) orderPart += order.shippingMinor;
  if (cfg.includeTax) orderPart += order.taxMinor;
  const notes: string[] = [];
  if (rule.lines) notes.push(`on ${rule.lines.text}`);
  const excluded = [cfg.includeShipping ? null : 'shipping', cfg.includeTax ? null : 'tax', excludeGiftCards ? 'gift cards' : null, excludePoints && order.paidWithPointsMinor > 0 ? 'the part paid with points' : null]
    .filter(Boolean);
  if (rule.exclude) excluded.push(rule.exclude.text);
  if (excluded.length) notes.push(`excluding ${excluded.join(', ')}`);
  return { perLine, order: orderPart, total: total + orderPart, notes };
}

function attributionOf(perLine: number[], order: number): Attribution {
  return { lines: perLine, order };
}

/** Spreads `points` over the parts of `weights` (lines, then the order part). */
function spread(points: number, perLine: readonly number[], orderWeight: number): Attribution {
  const weights = perLine.slice();
  weights.push(orderWeight);
  const parts = apportion(points, weights);
  if (!parts) return { lines: [], order: points };
  const order = parts.pop()!;
  return { lines: parts, order };
}

const ROUNDING_TEXT = { floor: 'rounded down', round: 'rounded to nearest', ceil: 'rounded up' } as const;

/**
 * Evaluates an order against the rules in force at its time. Pure: the same order, member
 * context and rules always give the same award, every point explained by the rule that gave it,
 * and every rule that did not apply listed with the reason.
 *
 * `rules` must be sorted by priority (see byPriority) and contain only order rules.
 */
export function evaluateOrder(order: OrderInput, ctx: EvaluationContext, rules: readonly CompiledRule[]): OrderEvaluation {
  const p = prepare(order, ctx.timeZone);
  const money = (minor: number) => formatMoney(minor, ctx.currency);
  const items: AwardItem[] = [];
  const notApplied: SkippedRule[] = [];
  const contributions: Contribution[] = [];
  // Base points per line and wallet so far: what multipliers scale.
  const base = new Map<string, number[]>();
  let stoppedBy: CompiledRule | null = null;
  const subject = { local: p.local, store: order.store, channel: order.channel, orderValueMinor: p.orderValue, orderNumber: ctx.orderNumber, member: ctx.member, currency: ctx.currency };

  for (const rule of rules) {
    const skip = (reason: string) => notApplied.push({ ruleId: rule.ruleId, version: rule.version, name: rule.name, kind: rule.kind, reason });
    const blocked = ruleBlocked(rule, subject, stoppedBy);
    if (blocked) {
      skip(blocked);
      continue;
    }
    const cfg = rule.config;
    const rounding = cfg.rounding ?? 'floor';
    const pending = { days: cfg.pending?.days ?? ctx.wallets[rule.wallet]?.pendingDays ?? 0, from: cfg.pending?.from ?? ctx.pendingFrom };
    let points = 0;
    let attribution: Attribution | null = null;
    let why = '';

    switch (rule.kind) {
      case 'base_rate': {
        const e = eligibleAmount(rule, p, order);
        if (e.total === 0) {
          skip('no eligible amount in this order');
          continue;
        }
        points = mulDiv(e.total, cfg.points!, cfg.perAmountMinor!, rounding);
        // The member's tier multiplier (a ladder benefit) scales base points once, before any
        // multiplier rule; tier-conditioned multiplier rules would stack on top of it.
        const tierBp = ctx.member?.tierMultiplierBp ?? 10_000;
        const tierNote = tierBp !== 10_000 ? `, ×${tierBp / 10_000} for tier ${ctx.member?.tierCode ?? ''}` : '';
        if (tierBp !== 10_000) points = mulDiv(points, tierBp, 10_000, rounding);
        attribution = points > 0 ? spread(points, e.perLine, e.order) : null;
        if (attribution && attribution.lines.length > 0) {
          let row = base.get(rule.wallet);
          if (!row) base.set(rule.wallet, (row = new Array<number>(p.lines.length).fill(0)));
          for (let i = 0; i < p.lines.length; i++) row[i]! += attribution.lines[i]!;
        }
        why = `${cfg.points} per ${money(cfg.perAmountMinor!)} on ${money(e.total)}${e.notes.length ? ` (${e.notes.join('; ')})` : ''}${tierNote}, ${ROUNDING_TEXT[rounding]}`;
        break;
      }
      case 'multiplier': {
        const row = base.get(rule.wallet);
        const weights = p.lines.map((pl, i) => (row && selected(rule, pl.line) ? row[i]! : 0));
        const baseTotal = weights.reduce((s, v) => s + v, 0);
        if (baseTotal === 0) {
          skip(row ? `no base points on ${rule.lines ? rule.lines.text : 'these lines'}` : `no base-rate points in wallet "${rule.wallet}" before this rule (base rates need a lower priority number)`);
          continue;
        }
        points = mulDiv(baseTotal, cfg.percent! - 100, 100, rounding);
        attribution = points > 0 ? spread(points, weights, 0) : null;
        why = `×${cfg.percent! / 100} on ${baseTotal} base points${rule.lines ? ` of ${rule.lines.text}` : ''}: +${cfg.percent! - 100}%, ${ROUNDING_TEXT[rounding]}`;
        break;
      }
      case 'extra_points': {
        const selectedLines = p.lines.map((pl) => selected(rule, pl.line));
        const any = selectedLines.some(Boolean);
        if ((rule.lines || rule.exclude) && !any) {
          skip(`no line ${rule.lines ? `of ${rule.lines.text}` : 'left after exclusions'}`);
          continue;
        }
        if (cfg.per === 'order') {
          points = cfg.points!;
          if (rule.lines) {
            // Free matching items have no value to weigh by: then their quantities decide.
            const byValue = p.lines.map((pl, i) => (selectedLines[i] ? pl.net : 0));
            const weights = byValue.some((v) => v > 0) ? byValue : p.lines.map((pl, i) => (selectedLines[i] ? pl.line.quantity : 0));
            attribution = spread(points, weights, 0);
          } else {
            attribution = { lines: [], order: points };
          }
          why = `${points} extra points for the order${rule.lines ? ` with ${rule.lines.text}` : ''}`;
        } else if (cfg.per === 'unit') {
          const perLine = p.lines.map((pl, i) => (selectedLines[i] ? pl.line.quantity * cfg.points! : 0));
          points = perLine.reduce((s, v) => s + v, 0);
          attribution = attributionOf(perLine, 0);
          why = `${cfg.points} per unit of ${rule.lines!.text}: ${points / cfg.points!} units`;
        } else {
          const excludePoints = cfg.excludePaidWithPoints !== false;
          const perLine = p.lines.map((pl, i) => (selectedLines[i] ? (excludePoints ? pl.money : pl.net) : 0));
          const total = perLine.reduce((s, v) => s + v, 0);
          points = mulDiv(total, cfg.points!, cfg.perAmountMinor!, rounding);
          attribution = points > 0 ? spread(points, perLine, 0) : null;
          why = `${cfg.points} extra per ${money(cfg.perAmountMinor!)} on ${money(total)}${rule.lines ? ` of ${rule.lines.text}` : ''}, ${ROUNDING_TEXT[rounding]}`;
        }
        break;
      }
      case 'cashback': {
        const e = eligibleAmount(rule, p, order);
        if (e.total === 0) {
          skip('no eligible amount in this order');
          continue;
        }
        points = mulDiv(e.total, cfg.rateBasisPoints!, 10_000, rounding);
        attribution = points > 0 ? spread(points, e.perLine, e.order) : null;
        why = `${cfg.rateBasisPoints! / 100}% back on ${money(e.total)}${e.notes.length ? ` (${e.notes.join('; ')})` : ''}, ${ROUNDING_TEXT[rounding]}`;
        break;
      }
      case 'threshold': {
        const e = eligibleAmount(rule, p, order);
        if (e.total === 0) {
          skip('no eligible amount in this order');
          continue;
        }
        contributions.push({
          ruleId: rule.ruleId, version: rule.version, name: rule.name, kind: 'threshold', periodKey: periodKey(cfg.period ?? 'lifetime', p.local),
          attribution: attributionOf(e.perLine, e.order), amountMinor: e.total, minOrderMinor: 0,
        });
        if (rule.stopFurther) stoppedBy = rule;
        continue;
      }
      case 'challenge': {
        if (cfg.counts?.type !== 'orders') continue;
        const e = eligibleAmount(rule, p, order);
        const min = Math.max(1, cfg.counts.minOrderMinor ?? 1);
        if (e.total < min) {
          skip(e.total === 0 ? 'no eligible amount in this order' : `${money(e.total)} is below the ${money(min)} an order needs to count`);
          continue;
        }
        contributions.push({
          ruleId: rule.ruleId, version: rule.version, name: rule.name, kind: 'challenge', periodKey: periodKey(cfg.period!, p.local),
          attribution: attributionOf(e.perLine, e.order), amountMinor: e.total, minOrderMinor: min,
        });
        if (rule.stopFurther) stoppedBy = rule;
        continue;
      }
      case 'action':
        continue;
    }

    if (points === 0 || !attribution) {
      skip(`rounds to 0 points (${why})`);
      continue;
    }
    const capped = applyCaps(rule, points, ctx);
    if (capped.points === 0) {
      skip(capped.note);
      continue;
    }
    if (capped.points < points) {
      attribution = spread(capped.points, attribution.lines, attribution.order);
      why += `; ${capped.note}`;
    }
    items.push({ ruleId: rule.ruleId, version: rule.version, name: rule.name, kind: rule.kind, wallet: rule.wallet, points: capped.points, why, attribution, pending });
    if (rule.stopFurther) stoppedBy = rule;
  }
  return { lineIds: p.lines.map((l) => l.line.id), items, notApplied, contributions, orderValueMinor: p.orderValue, localDate: p.local.date };
}

/** Per-order and per-member-per-period caps; the note says which one bit. */
export function applyCaps(rule: CompiledRule, points: number, ctx: { capUsage: Record<string, number> }): { points: number; note: string } {
  let result = points;
  let note = '';
  const perOrder = rule.config.caps?.perOrder;
  if (perOrder !== undefined && result > perOrder) {
    result = perOrder;
    note = `capped at ${perOrder} per ${rule.kind === 'action' ? 'event' : 'order'}`;
  }
  const perMember = rule.config.caps?.perMember;
  if (perMember) {
    const used = ctx.capUsage[rule.ruleId] ?? 0;
    const room = Math.max(0, perMember.points - used);
    if (result > room) {
      result = room;
      const period = perMember.period === 'lifetime' ? 'in total' : `per ${perMember.period}`;
      note = room === 0
        ? `member cap of ${perMember.points} ${period} already reached`
        : `capped at ${room}: member cap of ${perMember.points} ${period}, ${used} already given`;
    }
  }
  return { points: result, note };
}

/** Totals per wallet of an award. */
export function totalsByWallet(items: readonly { wallet: string; points: number }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i.wallet] = (out[i.wallet] ?? 0) + i.points;
  return out;
}
