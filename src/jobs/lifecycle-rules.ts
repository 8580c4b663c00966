/**
 * The decisions of the daily lifecycle jobs, as pure functions of their inputs.
 */
const DAY_MS = 86_400_000;

/**
 * Which reminder window an expiring group falls in: the smallest configured N with
 * N ≥ daysLeft, so that with [30, 7] a group first seen 20 days ahead gets the 30-day reminder,
 * then the 7-day one, and one first seen 3 days ahead gets only the 7-day one.
 */
export function reminderWindow(daysBefore: number[], daysLeft: number): number | null {
  if (daysLeft < 0) return null;
  const fits = daysBefore.filter((n) => n >= daysLeft);
  return fits.length > 0 ? Math.min(...fits) : null;
}

/** The birthdays celebrated on a local date: 29 February birthdays fall on 28 February in other years. */
export function birthdayDaysFor(localDate: string): { month: number; days: number[] } {
  const [y, m, d] = localDate.split('-').map(Number) as [number, number, number];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return { month: m, days: m === 2 && d === 28 && !leap ? [28, 29] : [d] };
}

export interface AtRiskSettings {
  multiplier: number;
  minPurchases: number;
  minDays: number;
  fixedDays: number;
  maxDays: number;
}

export interface AtRiskInput {
  purchases: number;
  firstAt: Date | null;
  lastAt: Date | null;
  lastActivityAt: Date | null;
  now: Date;
}

export interface AtRiskDecision {
  lastAt: Date;
  basis: 'usual_interval' | 'fixed_days';
  usualIntervalDays: number | null;
  thresholdDays: number;
  daysSince: number;
}

/**
 * At risk when the time since the last purchase reaches k × the member's usual interval between
 * purchases (the mean gap, once there are enough purchases to trust it, and never less than
 * minDays), or fixedDays for members with fewer purchases (or, without purchase data, since
 * their last ledger activity). Members lapsed beyond maxDays are churned, not at risk.
 */
export function atRiskDecision(input: AtRiskInput, settings: AtRiskSettings): AtRiskDecision | null {
  let lastAt: Date;
  let thresholdDays: number;
  let usualIntervalDays: number | null = null;
  let basis: AtRiskDecision['basis'] = 'fixed_days';
  if (input.purchases >= settings.minPurchases && input.firstAt && input.lastAt) {
    usualIntervalDays = (input.lastAt.getTime() - input.firstAt.getTime()) / DAY_MS / (input.purchases - 1);
    thresholdDays = Math.max(settings.multiplier * usualIntervalDays, settings.minDays);
    lastAt = input.lastAt;
    basis = 'usual_interval';
  } else if (input.purchases >= 1 && input.lastAt) {
    thresholdDays = settings.fixedDays;
    lastAt = input.lastAt;
  } else if (input.lastActivityAt) {
    thresholdDays = settings.fixedDays;
    lastAt = input.lastActivityAt;
  } else {
    return null;
  }
  const daysSince = (input.now.getTime() - lastAt.getTime()) / DAY_MS;
  if (daysSince < thresholdDays || daysSince > settings.maxDays) return null;
  return {
    lastAt, basis, thresholdDays: Math.round(thresholdDays * 10) / 10,
    usualIntervalDays: usualIntervalDays === null ? null : Math.round(usualIntervalDays * 10) / 10,
    daysSince: Math.floor(daysSince),
  };
}
