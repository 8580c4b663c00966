import type { RuleKind } from '../db/schema.ts';
import { ProblemError } from '../http/error-codes.ts';
import { isCalendarDate, parseClock, type Period } from './local-time.ts';

export type { RuleKind };
export type Rounding = 'floor' | 'round' | 'ceil';
export type PendingFrom = 'paid' | 'fulfilled';

export const RULE_KINDS: readonly RuleKind[] = ['base_rate', 'multiplier', 'extra_points', 'cashback', 'threshold', 'challenge', 'action'];
export const PERIODS: readonly Period[] = ['day', 'week', 'month', 'year', 'lifetime'];
export const ORDER_RULE_KINDS: ReadonlySet<RuleKind> = new Set(['base_rate', 'multiplier', 'extra_points', 'cashback', 'threshold', 'challenge']);

/** Products a rule is about: a line matches when any of the listed values matches. */
export interface LineMatch {
  skus?: string[];
  productIds?: string[];
  categories?: string[];
  tags?: string[];
}

export interface Conditions {
  stores?: string[];
  channels?: string[];
  minOrderMinor?: number;
  /** Local calendar dates in the program's time zone, both ends included. */
  dates?: { from: string; to: string }[];
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  weekdays?: number[];
  /** Local "HH:MM"; from included, to excluded; from > to wraps past midnight. */
  hours?: { from: string; to: string };
  /** The member's nth order: equals 1 is the first order; every 5 is each fifth order. */
  orderNumber?: { equals?: number; every?: number };
  tiers?: string[];
  memberTags?: string[];
  memberAttributes?: Record<string, string | number | boolean | (string | number | boolean)[]>;
  birthdayMonth?: boolean;
  locales?: string[];
}

export interface RuleConfig {
  wallet?: string;
  conditions?: Conditions;
  caps?: { perOrder?: number; perMember?: { points: number; period: Period } };
  pending?: { days?: number; from?: PendingFrom };
  rounding?: Rounding;
  includeShipping?: boolean;
  includeTax?: boolean;
  excludeGiftCards?: boolean;
  excludePaidWithPoints?: boolean;
  lines?: LineMatch;
  exclude?: LineMatch;
  points?: number;
  perAmountMinor?: number;
  per?: 'order' | 'unit' | 'amount';
  percent?: number;
  rateBasisPoints?: number;
  everyAmountMinor?: number;
  period?: Period;
  target?: number;
  counts?: { type: 'orders' | 'action'; action?: string; minOrderMinor?: number };
  repeat?: boolean;
  action?: string;
  perUnit?: { points: number; quantity: number };
  limits?: { count: number; period: Period }[];
}

/** Rules run in ascending priority; these defaults make base points exist before multipliers scale them. */
export const DEFAULT_PRIORITY: Record<RuleKind, number> = {
  base_rate: 100, multiplier: 200, extra_points: 300, cashback: 400, threshold: 500, challenge: 600, action: 100,
};

const COMMON = ['wallet', 'conditions', 'pending'] as const;
const AMOUNT = ['includeShipping', 'includeTax', 'excludeGiftCards', 'excludePaidWithPoints', 'lines', 'exclude'] as const;
const ALLOWED: Record<RuleKind, readonly (keyof RuleConfig)[]> = {
  base_rate: [...COMMON, ...AMOUNT, 'caps', 'rounding', 'points', 'perAmountMinor'],
  multiplier: [...COMMON, 'caps', 'rounding', 'lines', 'exclude', 'percent'],
  extra_points: [...COMMON, 'caps', 'rounding', 'lines', 'exclude', 'excludePaidWithPoints', 'points', 'per', 'perAmountMinor'],
  cashback: [...COMMON, ...AMOUNT, 'caps', 'rounding', 'rateBasisPoints'],
  threshold: [...COMMON, ...AMOUNT, 'everyAmountMinor', 'points', 'period'],
  challenge: [...COMMON, 'lines', 'exclude', 'target', 'period', 'counts', 'points', 'repeat'],
  action: [...COMMON, 'caps', 'rounding', 'action', 'points', 'perUnit', 'limits'],
};
const ORDER_ONLY_CONDITIONS: (keyof Conditions)[] = ['stores', 'channels', 'minOrderMinor', 'orderNumber'];

export const MAX_POINTS = 1_000_000_000;
export const MAX_MINOR = 1_000_000_000_000;
export const ACTION_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

interface FieldError {
  path: string;
  message: string;
}

class Checker {
  errors: FieldError[] = [];
  fail(path: string, message: string) {
    this.errors.push({ path, message });
  }
  int(path: string, value: unknown, min: number, max: number, required = false): value is number {
    if (value === undefined) {
      if (required) this.fail(path, 'is required');
      return false;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`);
      return false;
    }
    return true;
  }
  strings(path: string, value: unknown, pattern?: RegExp): value is string[] {
    if (value === undefined) return false;
    if (!Array.isArray(value) || value.length === 0 || value.length > 1000 || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 255)) {
      this.fail(path, 'must be a non-empty list of non-empty strings');
      return false;
    }
    if (pattern && !value.every((v) => pattern.test(v))) this.fail(path, `every value must match ${pattern}`);
    return true;
  }
  bool(path: string, value: unknown) {
    if (value !== undefined && typeof value !== 'boolean') this.fail(path, 'must be true or false');
  }
  oneOf<T extends string>(path: string, value: unknown, options: readonly T[], required = false): value is T {
    if (value === undefined) {
      if (required) this.fail(path, `is required (one of ${options.join(', ')})`);
      return false;
    }
    if (typeof value !== 'string' || !options.includes(value as T)) {
      this.fail(path, `must be one of ${options.join(', ')}`);
      return false;
    }
    return true;
  }
  object(path: string, value: unknown, keys: readonly string[]): value is Record<string, unknown> {
    if (value === undefined) return false;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(path, 'must be an object');
      return false;
    }
    for (const key of Object.keys(value)) if (!keys.includes(key)) this.fail(`${path}/${key}`, 'is not a known field here');
    return true;
  }
}

function checkLineMatch(c: Checker, path: string, value: unknown) {
  if (!c.object(path, value, ['skus', 'productIds', 'categories', 'tags'])) return;
  const m = value as LineMatch;
  c.strings(`${path}/skus`, m.skus);
  c.strings(`${path}/productIds`, m.productIds);
  c.strings(`${path}/categories`, m.categories);
  c.strings(`${path}/tags`, m.tags);
  if (!m.skus && !m.productIds && !m.categories && !m.tags) c.fail(path, 'must list at least one of skus, productIds, categories, tags');
}

/** A product filter that its own exclusion list cancels out can never match anything. */
function checkNotSelfExcluding(c: Checker, lines?: LineMatch, exclude?: LineMatch) {
  if (!lines || !exclude) return;
  const dims = (['skus', 'productIds', 'categories', 'tags'] as const).filter((d) => lines[d]?.length);
  if (dims.length !== 1) return;
  const d = dims[0]!;
  const excluded = new Set(exclude[d] ?? []);
  if (lines[d]!.every((v) => excluded.has(v))) c.fail('/config/exclude', `excludes every ${d} value that "lines" selects, so the rule could never apply`);
}

function checkConditions(c: Checker, kind: RuleKind, value: unknown) {
  const path = '/config/conditions';
  const keys = ['stores', 'channels', 'minOrderMinor', 'dates', 'weekdays', 'hours', 'orderNumber', 'tiers', 'memberTags', 'memberAttributes', 'birthdayMonth', 'locales'];
  if (!c.object(path, value, keys)) return;
  const cond = value as Conditions;
  if (kind === 'action') {
    for (const k of ORDER_ONLY_CONDITIONS) if (cond[k] !== undefined) c.fail(`${path}/${k}`, 'is about orders; an action rule cannot use it');
  }
  c.strings(`${path}/stores`, cond.stores);
  c.strings(`${path}/channels`, cond.channels);
  c.int(`${path}/minOrderMinor`, cond.minOrderMinor, 1, MAX_MINOR);
  c.strings(`${path}/tiers`, cond.tiers);
  c.strings(`${path}/memberTags`, cond.memberTags);
  c.strings(`${path}/locales`, cond.locales, /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/);
  c.bool(`${path}/birthdayMonth`, cond.birthdayMonth);
  if (cond.birthdayMonth === false) c.fail(`${path}/birthdayMonth`, 'leave it out instead of false');
  if (cond.dates !== undefined) {
    if (!Array.isArray(cond.dates) || cond.dates.length === 0 || cond.dates.length > 100) {
      c.fail(`${path}/dates`, 'must be a non-empty list of {from, to} date ranges');
    } else {
      cond.dates.forEach((range, i) => {
        if (!c.object(`${path}/dates/${i}`, range, ['from', 'to'])) return;
        const ok = [range.from, range.to].every((d) => typeof d === 'string' && isCalendarDate(d));
        if (!ok) c.fail(`${path}/dates/${i}`, 'from and to must be real dates (YYYY-MM-DD)');
        else if (range.from > range.to) c.fail(`${path}/dates/${i}`, `ends (${range.to}) before it starts (${range.from})`);
      });
    }
  }
  if (cond.weekdays !== undefined) {
    if (!Array.isArray(cond.weekdays) || cond.weekdays.length === 0 || !cond.weekdays.every((d) => Number.isInteger(d) && d >= 1 && d <= 7)) {
      c.fail(`${path}/weekdays`, 'must be a non-empty list of ISO weekdays (1 = Monday … 7 = Sunday)');
    } else if (new Set(cond.weekdays).size !== cond.weekdays.length) {
      c.fail(`${path}/weekdays`, 'lists a weekday twice');
    }
  }
  if (c.object(`${path}/hours`, cond.hours, ['from', 'to'])) {
    const from = typeof cond.hours!.from === 'string' ? parseClock(cond.hours!.from) : Number.NaN;
    const to = typeof cond.hours!.to === 'string' ? parseClock(cond.hours!.to) : Number.NaN;
    if (Number.isNaN(from) || Number.isNaN(to) || from === 1440) c.fail(`${path}/hours`, 'from and to must be local times "HH:MM" (to may be "24:00")');
    else if (from === to) c.fail(`${path}/hours`, 'from and to are equal: the window is empty');
  }
  if (c.object(`${path}/orderNumber`, cond.orderNumber, ['equals', 'every'])) {
    const n = cond.orderNumber!;
    c.int(`${path}/orderNumber/equals`, n.equals, 1, 1_000_000);
    c.int(`${path}/orderNumber/every`, n.every, 2, 1_000_000);
    if (n.equals === undefined && n.every === undefined) c.fail(`${path}/orderNumber`, 'needs equals or every');
    if (n.equals !== undefined && n.every !== undefined) c.fail(`${path}/orderNumber`, 'use equals or every, not both');
  }
  if (c.object(`${path}/memberAttributes`, cond.memberAttributes, Object.keys(cond.memberAttributes ?? {}))) {
    for (const [key, v] of Object.entries(cond.memberAttributes!)) {
      const scalar = (x: unknown) => ['string', 'number', 'boolean'].includes(typeof x);
      if (!(scalar(v) || (Array.isArray(v) && v.length > 0 && v.every(scalar)))) c.fail(`${path}/memberAttributes/${key}`, 'must be a string, number, boolean or a non-empty list of them');
    }
  }
  // A date range in which none of the allowed weekdays falls can never apply.
  if (Array.isArray(cond.dates) && Array.isArray(cond.weekdays) && c.errors.length === 0) {
    const weekdays = new Set(cond.weekdays);
    const possible = cond.dates.some((r) => {
      const start = Date.parse(`${r.from}T00:00:00Z`);
      const end = Date.parse(`${r.to}T00:00:00Z`);
      for (let t = start, i = 0; t <= end && i < 7; t += 86_400_000, i++) {
        if (weekdays.has(((new Date(t).getUTCDay() + 6) % 7) + 1)) return true;
      }
      return false;
    });
    if (!possible) c.fail(`${path}/weekdays`, 'none of these weekdays falls within the dates: the rule could never apply');
  }
}

function checkPeriod(c: Checker, path: string, value: unknown, required: boolean) {
  return c.oneOf(path, value, PERIODS, required);
}

/**
 * Checks a rule's configuration for its kind and fills in defaults; every problem is listed at
 * once with its JSON path, so an impossible configuration is refused with a clear explanation.
 */
export function normalizeRuleConfig(kind: RuleKind, raw: unknown): RuleConfig {
  const c = new Checker();
  if (!c.object('/config', raw ?? {}, ALLOWED[kind])) throw new ProblemError('invalid_rule', 'config must be an object', { errors: c.errors });
  const cfg = structuredClone((raw ?? {}) as RuleConfig);
  if (cfg.wallet !== undefined && (typeof cfg.wallet !== 'string' || !/^[a-z][a-z0-9_]{0,31}$/.test(cfg.wallet))) c.fail('/config/wallet', 'must be a wallet code');
  cfg.wallet ??= kind === 'cashback' ? 'cashback' : 'points';
  checkConditions(c, kind, cfg.conditions);
  if (c.object('/config/pending', cfg.pending, ['days', 'from'])) {
    c.int('/config/pending/days', cfg.pending!.days, 0, 3650);
    c.oneOf('/config/pending/from', cfg.pending!.from, ['paid', 'fulfilled'] as const);
    if (kind === 'action' && cfg.pending!.from !== undefined) c.fail('/config/pending/from', 'an action has no paid or fulfilled event; its points are pending from the action');
  }
  if (c.object('/config/caps', cfg.caps, ['perOrder', 'perMember'])) {
    c.int('/config/caps/perOrder', cfg.caps!.perOrder, 1, MAX_POINTS);
    if (c.object('/config/caps/perMember', cfg.caps!.perMember, ['points', 'period'])) {
      c.int('/config/caps/perMember/points', cfg.caps!.perMember!.points, 1, MAX_POINTS, true);
      checkPeriod(c, '/config/caps/perMember/period', cfg.caps!.perMember!.period, true);
    }
    if (cfg.caps!.perOrder === undefined && cfg.caps!.perMember === undefined) c.fail('/config/caps', 'needs perOrder or perMember');
  }
  c.oneOf('/config/rounding', cfg.rounding, ['floor', 'round', 'ceil'] as const);
  for (const flag of ['includeShipping', 'includeTax', 'excludeGiftCards', 'excludePaidWithPoints', 'repeat'] as const) c.bool(`/config/${flag}`, cfg[flag]);
  checkLineMatch(c, '/config/lines', cfg.lines);
  checkLineMatch(c, '/config/exclude', cfg.exclude);
  checkNotSelfExcluding(c, cfg.lines, cfg.exclude);

  switch (kind) {
    case 'base_rate':
      c.int('/config/points', cfg.points, 1, MAX_POINTS, true);
      c.int('/config/perAmountMinor', cfg.perAmountMinor, 1, MAX_MINOR, true);
      break;
    case 'multiplier':
      c.int('/config/percent', cfg.percent, 101, 10_000, true);
      break;
    case 'extra_points':
      c.int('/config/points', cfg.points, 1, MAX_POINTS, true);
      if (c.oneOf('/config/per', cfg.per, ['order', 'unit', 'amount'] as const, true)) {
        if (cfg.per === 'amount') c.int('/config/perAmountMinor', cfg.perAmountMinor, 1, MAX_MINOR, true);
        else if (cfg.perAmountMinor !== undefined) c.fail('/config/perAmountMinor', `only applies with per "amount" (this rule gives points per ${cfg.per})`);
        if (cfg.per === 'unit' && !cfg.lines) c.fail('/config/lines', 'points per unit need the products they are for');
      }
      break;
    case 'cashback':
      c.int('/config/rateBasisPoints', cfg.rateBasisPoints, 1, 10_000, true);
      break;
    case 'threshold':
      c.int('/config/everyAmountMinor', cfg.everyAmountMinor, 1, MAX_MINOR, true);
      c.int('/config/points', cfg.points, 1, MAX_POINTS, true);
      checkPeriod(c, '/config/period', cfg.period, false);
      cfg.period ??= 'lifetime';
      break;
    case 'challenge':
      c.int('/config/target', cfg.target, 1, 10_000, true);
      c.int('/config/points', cfg.points, 1, MAX_POINTS, true);
      checkPeriod(c, '/config/period', cfg.period, true);
      if (c.object('/config/counts', cfg.counts, ['type', 'action', 'minOrderMinor'])) {
        if (c.oneOf('/config/counts/type', cfg.counts!.type, ['orders', 'action'] as const, true)) {
          if (cfg.counts!.type === 'action') {
            if (typeof cfg.counts!.action !== 'string' || !ACTION_PATTERN.test(cfg.counts!.action)) c.fail('/config/counts/action', 'is required: the action type counted (e.g. "review")');
            if (cfg.counts!.minOrderMinor !== undefined) c.fail('/config/counts/minOrderMinor', 'only applies when counting orders');
            if (cfg.lines || cfg.exclude) c.fail('/config/lines', 'product filters only apply when counting orders');
          } else {
            if (cfg.counts!.action !== undefined) c.fail('/config/counts/action', 'only applies when counting actions');
            c.int('/config/counts/minOrderMinor', cfg.counts!.minOrderMinor, 1, MAX_MINOR);
          }
        }
      } else if (cfg.counts === undefined) {
        c.fail('/config/counts', 'is required: {"type": "orders"} or {"type": "action", "action": "review"}');
      }
      if (cfg.counts?.type === 'action') {
        for (const k of ORDER_ONLY_CONDITIONS) if (cfg.conditions?.[k] !== undefined) c.fail(`/config/conditions/${k}`, 'is about orders; this challenge counts actions');
        if (cfg.pending?.from !== undefined) c.fail('/config/pending/from', 'a challenge counting actions has no paid or fulfilled event');
      }
      cfg.repeat ??= false;
      break;
    case 'action':
      if (typeof cfg.action !== 'string' || !ACTION_PATTERN.test(cfg.action)) c.fail('/config/action', 'is required: the action type, e.g. "review" or "sign_up" (lower case, digits, _)');
      c.int('/config/points', cfg.points, 1, MAX_POINTS);
      if (c.object('/config/perUnit', cfg.perUnit, ['points', 'quantity'])) {
        c.int('/config/perUnit/points', cfg.perUnit!.points, 1, MAX_POINTS, true);
        c.int('/config/perUnit/quantity', cfg.perUnit!.quantity, 1, MAX_MINOR, true);
      }
      if (cfg.points === undefined && cfg.perUnit === undefined) c.fail('/config/points', 'an action rule needs points (per event) or perUnit (per quantity), or both');
      if (cfg.limits !== undefined) {
        if (!Array.isArray(cfg.limits) || cfg.limits.length === 0 || cfg.limits.length > 5) {
          c.fail('/config/limits', 'must be a list of 1 to 5 {count, period} limits');
        } else {
          cfg.limits.forEach((l, i) => {
            if (!c.object(`/config/limits/${i}`, l, ['count', 'period'])) return;
            c.int(`/config/limits/${i}/count`, l.count, 1, 1_000_000, true);
            checkPeriod(c, `/config/limits/${i}/period`, l.period, true);
          });
          const periods = cfg.limits.map((l) => l?.period);
          if (new Set(periods).size !== periods.length) c.fail('/config/limits', 'lists a period twice');
        }
      }
      if (cfg.caps?.perOrder !== undefined) c.fail('/config/caps/perOrder', 'an action has no order; use perMember');
      break;
  }
  if (c.errors.length > 0) {
    throw new ProblemError('invalid_rule', c.errors.map((e) => `${e.path} ${e.message}`).join('; '), { errors: c.errors });
  }
  return cfg;
}

/** The action types a rule listens to (for action rules and challenges counting actions). */
export function actionTypeOf(kind: RuleKind, cfg: RuleConfig): string | null {
  if (kind === 'action') return cfg.action ?? null;
  if (kind === 'challenge' && cfg.counts?.type === 'action') return cfg.counts.action ?? null;
  return null;
}
