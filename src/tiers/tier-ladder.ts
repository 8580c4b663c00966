import type { TierKind, TierMetric, TierWindowKind } from '../db/schema.ts';
import { ProblemError } from '../http/error-codes.ts';

export type { TierKind, TierMetric, TierWindowKind };

export const TIER_METRICS: readonly TierMetric[] = ['net_spend', 'points_earned', 'orders'];
export const WINDOW_KINDS: readonly TierWindowKind[] = ['calendar_year', 'rolling_months', 'lifetime', 'anniversary'];
export const MAX_TIERS = 20;
export const MAX_GRACE_DAYS = 180;

export function isTierMetric(value: string): value is TierMetric {
  return (TIER_METRICS as readonly string[]).includes(value);
}

export interface Perk {
  code: string;
  label: string;
}

export interface TierInput {
  code: string;
  name: string;
  description?: string | null;
  kind?: TierKind;
  /** Earned tiers only: the minimum of each metric over the window (minor units, points, orders). */
  thresholds?: Record<string, number>;
  /** Paid tiers only. */
  price?: { amountMinor: number; periodMonths: number };
  benefits?: {
    /** 10 000 = ×1 (no bonus); 15 000 = +50 %; 20 000 = ×2. */
    earnMultiplierBp?: number;
    freeShipping?: boolean;
    earlyAccess?: boolean;
    /** 1 000 = 10 % off. */
    discountBp?: number;
    perks?: Perk[];
    entryReward?: { points: number; wallet?: string };
    birthdayGift?: { points?: number; wallet?: string; rewardCode?: string };
  };
}

export interface LadderInput {
  window: { kind: TierWindowKind; months?: number };
  qualification?: 'any' | 'all';
  graceDays?: number;
  downgradeOneLevelAtATime?: boolean;
  refunds?: 'at_review' | 'immediate';
  tiers: TierInput[];
}

export interface LadderSettings {
  windowKind: TierWindowKind;
  windowMonths: number | null;
  qualification: 'any' | 'all';
  graceDays: number;
  downgradeOneLevel: boolean;
  refundDowngrade: 'at_review' | 'immediate';
}

/** One tier as stored: the ladder position is its rank. */
export interface TierDefinition {
  code: string;
  name: string;
  description: string | null;
  rank: number;
  kind: TierKind;
  thresholds: Partial<Record<TierMetric, number>>;
  priceMinor: number | null;
  periodMonths: number | null;
  earnMultiplierBp: number;
  freeShipping: boolean;
  earlyAccess: boolean;
  discountBp: number;
  perks: Perk[];
  entryReward: { points: number; wallet: string } | null;
  birthdayGift: { points: number | null; wallet: string | null; rewardCode: string | null } | null;
}

function invalid(detail: string, extra: Record<string, unknown> = {}): never {
  throw new ProblemError('invalid_tier_ladder', detail, extra);
}

function isCount(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** The entry tier: the lowest earned tier, when all its thresholds are zero; every member holds it. */
export function isEntryTier(tier: Pick<TierDefinition, 'kind' | 'thresholds'>): boolean {
  return tier.kind === 'earned' && Object.values(tier.thresholds).every((v) => v === 0);
}

/**
 * Checks a ladder and turns it into stored definitions, lowest tier first. Earned tiers must all
 * use the same metrics and each metric must strictly increase up the ladder, so that qualifying
 * for a tier always means qualifying for every earned tier below it: no overlap, no ambiguity.
 */
export function validateLadder(input: LadderInput): { settings: LadderSettings; tiers: TierDefinition[] } {
  const { window } = input;
  if (!WINDOW_KINDS.includes(window.kind)) invalid(`unknown window kind "${window.kind}"`, { field: 'window.kind', known: WINDOW_KINDS });
  let windowMonths: number | null = null;
  if (window.kind === 'rolling_months') {
    if (!isCount(window.months, 1, 120)) invalid('a rolling window needs months between 1 and 120', { field: 'window.months' });
    windowMonths = window.months;
  } else if (window.months !== undefined) {
    invalid(`a ${window.kind} window takes no months`, { field: 'window.months' });
  }
  const graceDays = input.graceDays ?? 0;
  if (!isCount(graceDays, 0, MAX_GRACE_DAYS)) invalid(`graceDays must be between 0 and ${MAX_GRACE_DAYS}`, { field: 'graceDays' });
  if (windowMonths !== null && graceDays >= windowMonths * 28) {
    invalid(`a grace period of ${graceDays} days does not fit a ${windowMonths}-month window`, { field: 'graceDays' });
  }
  const settings: LadderSettings = {
    windowKind: window.kind,
    windowMonths,
    qualification: input.qualification ?? 'any',
    graceDays,
    downgradeOneLevel: input.downgradeOneLevelAtATime ?? false,
    refundDowngrade: input.refunds ?? 'at_review',
  };

  if (input.tiers.length === 0) invalid('a ladder needs at least one tier', { field: 'tiers' });
  if (input.tiers.length > MAX_TIERS) invalid(`a ladder has at most ${MAX_TIERS} tiers`, { field: 'tiers' });
  const seen = new Set<string>();
  const tiers = input.tiers.map((t, rank) => {
    if (seen.has(t.code)) invalid(`tier code "${t.code}" is used twice`, { tier: t.code, field: 'code' });
    seen.add(t.code);
    return definition(t, rank);
  });

  const earned = tiers.filter((t) => t.kind === 'earned');
  const metrics = earned[0] ? Object.keys(earned[0].thresholds).sort() : [];
  for (let i = 1; i < earned.length; i++) {
    const lower = earned[i - 1]!;
    const tier = earned[i]!;
    const own = Object.keys(tier.thresholds).sort();
    if (own.join() !== metrics.join()) {
      invalid(`every earned tier must use the same metrics: "${earned[0]!.code}" uses ${metrics.join(', ')}, "${tier.code}" uses ${own.join(', ')}`, {
        tier: tier.code, field: 'thresholds',
      });
    }
    for (const metric of metrics as TierMetric[]) {
      const below = lower.thresholds[metric]!;
      const here = tier.thresholds[metric]!;
      if (here <= below) {
        invalid(
          `thresholds must increase up the ladder: "${tier.code}" needs ${metric} ${here}, not above "${lower.code}" (${below})` +
            (here === below ? ' — the two tiers overlap' : ' — the tiers are out of order'),
          { tier: tier.code, field: `thresholds.${metric}`, below: { tier: lower.code, threshold: below } },
        );
      }
    }
  }
  for (const t of tiers) {
    if (t.entryReward && isEntryTier(t)) {
      invalid(`"${t.code}" is the entry tier every member holds from the start, so it cannot have an entry reward`, { tier: t.code, field: 'benefits.entryReward' });
    }
  }
  return { settings, tiers };
}

function definition(t: TierInput, rank: number): TierDefinition {
  const kind = t.kind ?? 'earned';
  const where = { tier: t.code };
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(t.code)) invalid(`tier code "${t.code}" must be lower case letters, digits and _ (at most 32)`, { ...where, field: 'code' });
  const thresholds: Partial<Record<TierMetric, number>> = {};
  for (const [metric, value] of Object.entries(t.thresholds ?? {})) {
    if (!isTierMetric(metric)) {
      throw new ProblemError('unknown_tier_metric', `tier "${t.code}" has a threshold on unknown metric "${metric}"`, { ...where, metric, known: TIER_METRICS });
    }
    if (!isCount(value, 0, Number.MAX_SAFE_INTEGER)) invalid(`threshold ${metric} of "${t.code}" must be a non-negative integer`, { ...where, field: `thresholds.${metric}` });
    thresholds[metric] = value;
  }
  const hasThresholds = Object.keys(thresholds).length > 0;
  if (kind === 'earned' && !hasThresholds) invalid(`earned tier "${t.code}" needs at least one threshold`, { ...where, field: 'thresholds' });
  if (kind !== 'earned' && hasThresholds) invalid(`${kind} tier "${t.code}" is not earned, so it takes no thresholds`, { ...where, field: 'thresholds' });
  if (kind === 'paid') {
    if (!t.price) invalid(`paid tier "${t.code}" needs a price`, { ...where, field: 'price' });
    if (!isCount(t.price.amountMinor, 0, Number.MAX_SAFE_INTEGER)) invalid('price.amountMinor must be a non-negative integer', { ...where, field: 'price.amountMinor' });
    if (!isCount(t.price.periodMonths, 1, 120)) invalid('price.periodMonths must be between 1 and 120', { ...where, field: 'price.periodMonths' });
  } else if (t.price) {
    invalid(`only paid tiers have a price ("${t.code}" is ${kind})`, { ...where, field: 'price' });
  }
  const b = t.benefits ?? {};
  const earnMultiplierBp = b.earnMultiplierBp ?? 10_000;
  if (!isCount(earnMultiplierBp, 0, 100_000)) invalid('earnMultiplierBp must be between 0 and 100000 (×10)', { ...where, field: 'benefits.earnMultiplierBp' });
  const discountBp = b.discountBp ?? 0;
  if (!isCount(discountBp, 0, 10_000)) invalid('discountBp must be between 0 and 10000 (100 %)', { ...where, field: 'benefits.discountBp' });
  const perkCodes = new Set<string>();
  for (const perk of b.perks ?? []) {
    if (perkCodes.has(perk.code)) invalid(`perk "${perk.code}" is listed twice`, { ...where, field: 'benefits.perks' });
    perkCodes.add(perk.code);
  }
  let entryReward: TierDefinition['entryReward'] = null;
  if (b.entryReward) {
    if (!isCount(b.entryReward.points, 1, Number.MAX_SAFE_INTEGER)) invalid('entryReward.points must be a positive integer', { ...where, field: 'benefits.entryReward.points' });
    entryReward = { points: b.entryReward.points, wallet: b.entryReward.wallet ?? 'points' };
  }
  let birthdayGift: TierDefinition['birthdayGift'] = null;
  if (b.birthdayGift) {
    const { points, rewardCode } = b.birthdayGift;
    if (points === undefined && rewardCode === undefined) invalid('birthdayGift needs points, a rewardCode or both', { ...where, field: 'benefits.birthdayGift' });
    if (points !== undefined && !isCount(points, 1, Number.MAX_SAFE_INTEGER)) invalid('birthdayGift.points must be a positive integer', { ...where, field: 'benefits.birthdayGift.points' });
    birthdayGift = { points: points ?? null, wallet: points !== undefined ? (b.birthdayGift.wallet ?? 'points') : null, rewardCode: rewardCode ?? null };
  }
  return {
    code: t.code,
    name: t.name,
    description: t.description ?? null,
    rank,
    kind,
    thresholds,
    priceMinor: kind === 'paid' ? t.price!.amountMinor : null,
    periodMonths: kind === 'paid' ? t.price!.periodMonths : null,
    earnMultiplierBp,
    freeShipping: b.freeShipping ?? false,
    earlyAccess: b.earlyAccess ?? false,
    discountBp,
    perks: b.perks ?? [],
    entryReward,
    birthdayGift,
  };
}
