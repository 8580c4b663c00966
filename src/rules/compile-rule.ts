import { parseClock } from './local-time.ts';
import { DEFAULT_PRIORITY, type LineMatch, type RuleConfig, type RuleKind } from './rule-config.ts';

/** One version of a rule as stored. */
export interface RuleVersion {
  ruleId: string;
  version: number;
  kind: RuleKind;
  name: string;
  priority: number;
  stopFurther: boolean;
  effectiveFrom: Date;
  config: RuleConfig;
}

export interface Matcher {
  skus: Set<string> | null;
  productIds: Set<string> | null;
  categories: Set<string> | null;
  tags: Set<string> | null;
  text: string;
}

export interface CompiledConditions {
  stores: Set<string> | null;
  channels: Set<string> | null;
  minOrderMinor: number | null;
  dates: { from: string; to: string }[] | null;
  weekdays: Set<number> | null;
  hours: { from: number; to: number; text: string } | null;
  orderNumber: { equals?: number; every?: number } | null;
  tiers: Set<string> | null;
  memberTags: Set<string> | null;
  memberAttributes: [string, Set<string>][] | null;
  birthdayMonth: boolean;
  locales: string[] | null;
}

/** A rule version prepared for fast evaluation: lists become sets, clock times minutes. */
export interface CompiledRule extends RuleVersion {
  wallet: string;
  lines: Matcher | null;
  exclude: Matcher | null;
  cond: CompiledConditions;
}

const set = <T>(values: T[] | undefined): Set<T> | null => (values && values.length > 0 ? new Set(values) : null);

/** Member attribute values are compared with their JSON type, so "1" never equals 1. */
export const attributeKey = (value: unknown): string => `${typeof value}:${String(value)}`;

function matcher(m: LineMatch | undefined): Matcher | null {
  if (!m) return null;
  const text = (['skus', 'productIds', 'categories', 'tags'] as const)
    .filter((k) => m[k]?.length)
    .map((k) => `${k} ${m[k]!.join(', ')}`)
    .join('; ');
  return { skus: set(m.skus), productIds: set(m.productIds), categories: set(m.categories), tags: set(m.tags), text };
}

export function compileRule(v: RuleVersion): CompiledRule {
  const c = v.config.conditions ?? {};
  const hours = c.hours ? { from: parseClock(c.hours.from), to: parseClock(c.hours.to), text: `${c.hours.from}–${c.hours.to}` } : null;
  return {
    ...v,
    wallet: v.config.wallet ?? (v.kind === 'cashback' ? 'cashback' : 'points'),
    lines: matcher(v.config.lines),
    exclude: matcher(v.config.exclude),
    cond: {
      stores: set(c.stores),
      channels: set(c.channels),
      minOrderMinor: c.minOrderMinor ?? null,
      dates: c.dates && c.dates.length > 0 ? c.dates : null,
      weekdays: set(c.weekdays),
      hours,
      orderNumber: c.orderNumber ?? null,
      tiers: set(c.tiers),
      memberTags: set(c.memberTags),
      memberAttributes: c.memberAttributes
        ? Object.entries(c.memberAttributes).map(([k, v]) => [k, new Set((Array.isArray(v) ? v : [v]).map(attributeKey))] as [string, Set<string>])
        : null,
      birthdayMonth: c.birthdayMonth === true,
      locales: c.locales ? c.locales.map((l) => l.toLowerCase()) : null,
    },
  };
}

/** Evaluation order: ascending priority, then the rule id, so equal priorities are still deterministic. */
export function byPriority(a: RuleVersion, b: RuleVersion): number {
  return a.priority - b.priority || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0);
}

export function defaultPriority(kind: RuleKind): number {
  return DEFAULT_PRIORITY[kind];
}
