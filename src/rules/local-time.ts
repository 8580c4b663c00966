import { zonedMidnight, zonedParts } from '../ledger/expiry-policy.ts';

export type Period = 'day' | 'week' | 'month' | 'year' | 'lifetime';

/** Wall-clock view of an instant in the program's time zone, as rules need it. */
export interface LocalTime {
  /** YYYY-MM-DD, comparable as text. */
  date: string;
  year: number;
  month: number;
  day: number;
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** Minutes since local midnight. */
  minuteOfDay: number;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function localTime(instant: Date, timeZone: string): LocalTime {
  const p = zonedParts(instant, timeZone);
  const weekday = ((new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay() + 6) % 7) + 1;
  return {
    date: `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`,
    year: p.year, month: p.month, day: p.day, weekday,
    // Intl may render midnight as hour 24 in some engines; h23 avoids it but stay safe.
    minuteOfDay: (p.hour % 24) * 60 + p.minute,
  };
}

/** ISO-8601 week-numbering year and week of a calendar date. */
function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  // The Thursday of the same ISO week decides which year the week belongs to.
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return { year: date.getUTCFullYear(), week: Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7) };
}

/** A stable name for the calendar period (in the program's time zone) that contains `local`. */
export function periodKey(period: Period, local: LocalTime): string {
  switch (period) {
    case 'day':
      return `day:${local.date}`;
    case 'week': {
      const w = isoWeek(local.year, local.month, local.day);
      return `week:${pad(w.year, 4)}-W${pad(w.week)}`;
    }
    case 'month':
      return `month:${pad(local.year, 4)}-${pad(local.month)}`;
    case 'year':
      return `year:${pad(local.year, 4)}`;
    case 'lifetime':
      return 'lifetime';
  }
}

/** The instants [start, end) of the calendar period containing `instant`; lifetime has no bounds. */
export function periodBounds(period: Period, instant: Date, timeZone: string): { start: Date; end: Date } | null {
  const l = localTime(instant, timeZone);
  switch (period) {
    case 'day':
      return { start: zonedMidnight(l.year, l.month, l.day, timeZone), end: zonedMidnight(l.year, l.month, l.day + 1, timeZone) };
    case 'week': {
      const monday = l.day - (l.weekday - 1);
      return { start: zonedMidnight(l.year, l.month, monday, timeZone), end: zonedMidnight(l.year, l.month, monday + 7, timeZone) };
    }
    case 'month':
      return { start: zonedMidnight(l.year, l.month, 1, timeZone), end: zonedMidnight(l.year, l.month + 1, 1, timeZone) };
    case 'year':
      return { start: zonedMidnight(l.year, 1, 1, timeZone), end: zonedMidnight(l.year + 1, 1, 1, timeZone) };
    case 'lifetime':
      return null;
  }
}

/** "HH:MM" → minutes since midnight (24:00 allowed as the end of the day). */
export function parseClock(value: string): number {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(value);
  if (!match) return Number.NaN;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return minutes <= 1440 ? minutes : Number.NaN;
}

/** True for a real calendar date written YYYY-MM-DD. */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
