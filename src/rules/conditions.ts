import { attributeKey, type CompiledConditions } from './compile-rule.ts';
import type { LocalTime } from './local-time.ts';
import { formatMoney } from './points-math.ts';

/**
 * What rules may know about the member. `tierCode` comes from the tiers module (null until a
 * tier is assigned); everything else from the member's profile.
 */
export interface MemberContext {
  tierCode: string | null;
  /** The tier's earning multiplier in basis points (10 000 = ×1); scales base-rate points. */
  tierMultiplierBp?: number;
  tags: string[];
  attributes: Record<string, unknown>;
  /** YYYY-MM-DD */
  birthday: string | null;
  locale: string | null;
}

export interface ConditionSubject {
  local: LocalTime;
  store: string | null;
  channel: string | null;
  /** Merchandise value after discounts; null for actions. */
  orderValueMinor: number | null;
  /** The member's nth order; null for actions or unknown. */
  orderNumber: number | null;
  member: MemberContext | null;
  currency: { code: string; exponent: number };
}

const WEEKDAYS = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const list = (values: Iterable<unknown>) => [...values].map(String).join(', ');
const ordinal = (n: number) => {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
};
const clock = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** The first condition the subject fails, as a sentence for the explanation; null when all hold. */
export function unmetCondition(c: CompiledConditions, s: ConditionSubject): string | null {
  if (c.stores && (s.store === null || !c.stores.has(s.store))) return `only for stores ${list(c.stores)} (this is ${s.store ?? 'no store'})`;
  if (c.channels && (s.channel === null || !c.channels.has(s.channel))) return `only for channels ${list(c.channels)} (this is ${s.channel ?? 'unknown'})`;
  if (c.minOrderMinor !== null && (s.orderValueMinor ?? 0) < c.minOrderMinor) {
    return `order value ${formatMoney(s.orderValueMinor ?? 0, s.currency)} is below the minimum of ${formatMoney(c.minOrderMinor, s.currency)}`;
  }
  if (c.dates && !c.dates.some((r) => s.local.date >= r.from && s.local.date <= r.to)) {
    return `only on ${c.dates.map((r) => (r.from === r.to ? r.from : `${r.from} to ${r.to}`)).join(', ')} (local date is ${s.local.date})`;
  }
  if (c.weekdays && !c.weekdays.has(s.local.weekday)) {
    return `only on ${[...c.weekdays].sort().map((d) => WEEKDAYS[d]).join(', ')} (it is ${WEEKDAYS[s.local.weekday]})`;
  }
  if (c.hours) {
    const t = s.local.minuteOfDay;
    const inside = c.hours.from < c.hours.to ? t >= c.hours.from && t < c.hours.to : t >= c.hours.from || t < c.hours.to;
    if (!inside) return `only between ${c.hours.text} local time (it is ${clock(t)})`;
  }
  if (c.orderNumber) {
    const n = s.orderNumber;
    if (n === null) return 'only for a member’s numbered orders';
    if (c.orderNumber.equals !== undefined && n !== c.orderNumber.equals) {
      return c.orderNumber.equals === 1 ? `only for the first order (this is order ${n})` : `only for the ${ordinal(c.orderNumber.equals)} order (this is order ${n})`;
    }
    if (c.orderNumber.every !== undefined && n % c.orderNumber.every !== 0) return `only for every ${ordinal(c.orderNumber.every)} order (this is order ${n})`;
  }
  const needsMember = c.tiers || c.memberTags || c.memberAttributes || c.birthdayMonth || c.locales;
  if (needsMember && !s.member) return 'needs a known member';
  const m = s.member!;
  if (c.tiers && (m.tierCode === null || !c.tiers.has(m.tierCode))) return `only for tiers ${list(c.tiers)} (member’s tier: ${m.tierCode ?? 'none'})`;
  if (c.memberTags && !m.tags.some((t) => c.memberTags!.has(t))) return `only for members tagged ${list(c.memberTags)}`;
  if (c.memberAttributes) {
    for (const [key, allowed] of c.memberAttributes) {
      const value = m.attributes[key];
      const values = Array.isArray(value) ? value : [value];
      if (value === undefined || value === null || !values.some((v) => allowed.has(attributeKey(v)))) {
        return `only for members whose ${key} is ${[...allowed].map((a) => a.slice(a.indexOf(':') + 1)).join(' or ')}`;
      }
    }
  }
  if (c.birthdayMonth) {
    if (!m.birthday) return 'only in the member’s birthday month (no birthday on file)';
    if (Number(m.birthday.slice(5, 7)) !== s.local.month) return 'only in the member’s birthday month';
  }
  if (c.locales) {
    const locale = m.locale?.toLowerCase() ?? null;
    if (!locale || !c.locales.some((l) => locale === l || locale.startsWith(`${l}-`))) return `only for members with locale ${c.locales.join(', ')} (member’s: ${m.locale ?? 'none'})`;
  }
  return null;
}

/**
 * Why a rule, taken in priority order, does not apply before its own arithmetic: an earlier rule
 * that stops further rules was applied, or one of its conditions is unmet. Null: go on.
 */
export function ruleBlocked(rule: { cond: CompiledConditions }, subject: ConditionSubject, stoppedBy: { name: string } | null): string | null {
  if (stoppedBy) return `stopped by rule "${stoppedBy.name}", which comes first and stops further rules`;
  return unmetCondition(rule.cond, subject);
}
