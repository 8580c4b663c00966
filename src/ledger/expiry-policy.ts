import type { ExpiryKind } from '../db/schema.ts';

export interface ExpiryPolicy {
  kind: ExpiryKind;
  count: number;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Wall-clock parts of an instant in a time zone. */
export function zonedParts(instant: Date, timeZone: string) {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

function offsetMs(instant: Date, timeZone: string): number {
  const p = zonedParts(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/** The instant at which the wall clock in `timeZone` shows 00:00 on the given date (month 1–12, may overflow). */
export function zonedMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const guess = Date.UTC(year, month - 1, day);
  const first = guess - offsetMs(new Date(guess), timeZone);
  const second = guess - offsetMs(new Date(first), timeZone);
  return new Date(second);
}

/**
 * When points earned at `earnedAt` expire, in the program's time zone.
 * - never: null
 * - days_after_earn N: exactly N × 24 h after earning
 * - end_of_month N: at the end of the Nth calendar month after the month of earning
 *   (N = 0: end of the same month), i.e. local midnight starting the month after
 * - end_of_year N: likewise for calendar years
 * - inactivity N: N days after the member's last activity; refreshed on every activity
 */
export function expiresAt(policy: ExpiryPolicy, earnedAt: Date, timeZone: string): Date | null {
  switch (policy.kind) {
    case 'never':
      return null;
    case 'days_after_earn':
    case 'inactivity':
      return new Date(earnedAt.getTime() + policy.count * DAY_MS);
    case 'end_of_month': {
      const p = zonedParts(earnedAt, timeZone);
      return zonedMidnight(p.year, p.month + policy.count + 1, 1, timeZone);
    }
    case 'end_of_year': {
      const p = zonedParts(earnedAt, timeZone);
      return zonedMidnight(p.year + policy.count + 1, 1, 1, timeZone);
    }
  }
}
