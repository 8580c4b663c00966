import type { TierMetric, TierWindowKind } from '../db/schema.ts';

/** Pure wording and arithmetic of tier progress: what is missing, in the metric's own units. */

export interface Money {
  currency: string;
  exponent: number;
}

export type MetricValues = Record<TierMetric, number>;

/** Minor units as a currency amount, via a decimal string: no float ever touches the value. */
export function formatMinor(amountMinor: number, money: Money): string {
  const negative = amountMinor < 0;
  const digits = String(Math.abs(amountMinor)).padStart(money.exponent + 1, '0');
  const whole = digits.slice(0, digits.length - money.exponent);
  const fraction = digits.slice(digits.length - money.exponent);
  const decimal = `${negative ? '-' : ''}${whole}${money.exponent > 0 ? `.${fraction}` : ''}`;
  return new Intl.NumberFormat('en-US', {
    style: 'currency', currency: money.currency, minimumFractionDigits: money.exponent, maximumFractionDigits: money.exponent,
  }).format(decimal as Intl.StringNumericLiteral);
}

const count = (n: number) => new Intl.NumberFormat('en-US').format(n);

export function formatMetric(metric: TierMetric, amount: number, money: Money): string {
  switch (metric) {
    case 'net_spend':
      return formatMinor(amount, money);
    case 'points_earned':
      return `${count(amount)} ${Math.abs(amount) === 1 ? 'point' : 'points'}`;
    case 'orders':
      return `${count(amount)} ${Math.abs(amount) === 1 ? 'order' : 'orders'}`;
  }
}

export const METRIC_LABELS: Record<TierMetric, string> = { net_spend: 'spend', points_earned: 'points earned', orders: 'orders' };

/** The period a window's sums cover, as the end of a sentence. */
export function windowPhrase(kind: TierWindowKind, months: number | null): string {
  switch (kind) {
    case 'calendar_year':
      return 'this calendar year';
    case 'rolling_months':
      return `in the last ${months} ${months === 1 ? 'month' : 'months'}`;
    case 'anniversary':
      return 'this membership year';
    case 'lifetime':
      return 'in total';
  }
}

/** How a qualification window reads in a tier table ("in a calendar year"). */
export function windowNoun(kind: TierWindowKind, months: number | null): string {
  switch (kind) {
    case 'calendar_year':
      return 'in a calendar year';
    case 'rolling_months':
      return `within ${months} ${months === 1 ? 'month' : 'months'}`;
    case 'anniversary':
      return 'in a membership year (from your join date)';
    case 'lifetime':
      return 'in total';
  }
}

export interface Gap {
  metric: TierMetric;
  required: number;
  current: number;
  missing: number;
  formattedRequired: string;
  formattedCurrent: string;
  formattedMissing: string;
}

export function gapsTo(thresholds: Partial<Record<TierMetric, number>>, values: MetricValues, money: Money): Gap[] {
  return (Object.entries(thresholds) as [TierMetric, number][]).map(([metric, required]) => {
    const current = values[metric];
    const missing = Math.max(0, required - Math.max(0, current));
    return {
      metric, required, current, missing,
      formattedRequired: formatMetric(metric, required, money),
      formattedCurrent: formatMetric(metric, current, money),
      formattedMissing: formatMetric(metric, missing, money),
    };
  });
}

/** Met as a whole: one gap closed is enough for `any`, every gap for `all`. */
export function gapsMet(gaps: Gap[], qualification: 'any' | 'all'): boolean {
  return qualification === 'all' ? gaps.every((g) => g.missing === 0) : gaps.some((g) => g.missing === 0);
}

function action(g: Gap, money: Money): string {
  switch (g.metric) {
    case 'net_spend':
      return `spend ${formatMinor(g.missing, money)} more`;
    case 'points_earned':
      return `earn ${count(g.missing)} more ${g.missing === 1 ? 'point' : 'points'}`;
    case 'orders':
      return `place ${count(g.missing)} more ${g.missing === 1 ? 'order' : 'orders'}`;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function actions(gaps: Gap[], qualification: 'any' | 'all', money: Money): string {
  const open = gaps.filter((g) => g.missing > 0);
  return open.map((g) => action(g, money)).join(qualification === 'all' ? ' and ' : ' or ');
}

/** "Spend $120.00 more this calendar year to reach Gold." */
export function reachMessage(tierName: string, gaps: Gap[], qualification: 'any' | 'all', phrase: string, money: Money): string {
  if (gapsMet(gaps, qualification)) return `You qualify for ${tierName}.`;
  return `${capitalise(actions(gaps, qualification, money))} ${phrase} to reach ${tierName}.`;
}

/** A review instant as the last local day before it: a review at 1 January 00:00 reads "31 December". */
export function deadlineDate(reviewAt: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(reviewAt.getTime() - 1));
}

/** "Spend $50.00 more by 31 December 2025 to keep Gold." */
export function keepMessage(tierName: string, gaps: Gap[], qualification: 'any' | 'all', deadline: string, money: Money): string {
  if (gapsMet(gaps, qualification)) return `You have qualified to keep ${tierName} at the review after ${deadline}.`;
  return `${capitalise(actions(gaps, qualification, money))} by ${deadline} to keep ${tierName}.`;
}

/** "×2 points", "+50 % points", "no bonus". */
export function multiplierText(bp: number): string {
  if (bp === 10_000) return 'no bonus';
  if (bp > 10_000 && bp % 10_000 === 0) return `×${bp / 10_000} points`;
  if (bp > 10_000) return `+${formatBasisPoints(bp - 10_000)} % points`;
  return `${formatBasisPoints(bp)} % of the usual points`;
}

/** 1 550 → "15.5"; integer arithmetic only. */
export function formatBasisPoints(bp: number): string {
  const whole = Math.trunc(bp / 100);
  const rest = bp % 100;
  if (rest === 0) return String(whole);
  return `${whole}.${String(rest).padStart(2, '0').replace(/0$/, '')}`;
}
