import type { LimitPeriod } from '../db/schema.ts';
import { zonedMidnight, zonedParts } from '../ledger/expiry-policy.ts';

export const WEEKDAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAY_NAMES)[number];

/** ISO weekday numbers as stored → names as the API shows them. */
export function weekdayNames(days: number[] | null): Weekday[] | null {
  return days === null ? null : days.map((d) => WEEKDAY_NAMES[d - 1]!);
}

/** ISO weekday (1 = Monday … 7 = Sunday) of an instant on the wall clock of `timeZone`. */
export function localWeekday(instant: Date, timeZone: string): number {
  const p = zonedParts(instant, timeZone);
  const day = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay();
  return day === 0 ? 7 : day;
}

export interface Window {
  startsAt: Date | null;
  endsAt: Date | null;
  weekdays: number[] | null;
}

export type WindowCheck = { open: true } | { open: false; reason: 'not_started' | 'ended' | 'weekday'; detail: string };

/** Is the reward open at `now`? Dates are instants; weekdays are read in the program's time zone. */
export function checkWindow(w: Window, now: Date, timeZone: string): WindowCheck {
  if (w.startsAt && now < w.startsAt) return { open: false, reason: 'not_started', detail: `opens at ${w.startsAt.toISOString()}` };
  if (w.endsAt && now >= w.endsAt) return { open: false, reason: 'ended', detail: `closed at ${w.endsAt.toISOString()}` };
  if (w.weekdays && w.weekdays.length > 0) {
    const today = localWeekday(now, timeZone);
    if (!w.weekdays.includes(today)) {
      const days = [...w.weekdays].sort().map((d) => WEEKDAY_NAMES[d - 1]).join(', ');
      return { open: false, reason: 'weekday', detail: `open on ${days} (${timeZone}); today is ${WEEKDAY_NAMES[today - 1]}` };
    }
  }
  return { open: true };
}

/**
 * The next instant the window opens after `now`, or null if it never will: the start date, or
 * local midnight of the next allowed weekday.
 */
export function nextOpening(w: Window, now: Date, timeZone: string): Date | null {
  if (w.endsAt && now >= w.endsAt) return null;
  let from = w.startsAt && now < w.startsAt ? w.startsAt : now;
  if (checkWindow(w, from, timeZone).open) return from;
  const p = zonedParts(from, timeZone);
  for (let i = 1; i <= 7; i++) {
    from = zonedMidnight(p.year, p.month, p.day + i, timeZone);
    if (w.endsAt && from >= w.endsAt) return null;
    if (checkWindow(w, from, timeZone).open) return from;
  }
  return null;
}

/** Start of the limit period containing `now`, in the program's calendar; null for a lifetime limit. */
export function periodStart(period: LimitPeriod, now: Date, timeZone: string): Date | null {
  const p = zonedParts(now, timeZone);
  switch (period) {
    case 'day':
      return zonedMidnight(p.year, p.month, p.day, timeZone);
    case 'week':
      return zonedMidnight(p.year, p.month, p.day - (localWeekday(now, timeZone) - 1), timeZone);
    case 'month':
      return zonedMidnight(p.year, p.month, 1, timeZone);
    case 'year':
      return zonedMidnight(p.year, 1, 1, timeZone);
    case 'lifetime':
      return null;
  }
}
