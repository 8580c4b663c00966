/**
 * Retry schedules: the delay before each retry after a failed attempt. An item is delivered at
 * most 1 + schedule.length times per run; after the last retry fails it is given up.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The webhook default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — 27 h 35 min in all (Svix-like). */
export const DEFAULT_WEBHOOK_SCHEDULE_MS = parseSchedule('5s,5m,30m,2h,5h,10h,10h');
/** Messages: a mail server down for a few hours still gets the message the same day. */
export const DEFAULT_MESSAGE_SCHEDULE_MS = parseSchedule('1m,5m,30m,2h,6h');

/** "5s,5m,2h" (units ms, s, m, h, d; a bare number is milliseconds) → delays in ms. */
export function parseSchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  return parts.map((part) => {
    const match = /^(\d+)(ms|s|m|h|d)?$/.exec(part);
    if (!match) throw new Error(`"${part}" is not a duration such as 500ms, 5s, 5m, 2h or 1d`);
    const value = Number(match[1]) * UNITS[match[2] ?? 'ms']!;
    if (!Number.isSafeInteger(value)) throw new Error(`"${part}" is too long`);
    return value;
  });
}

export function totalSpanMs(schedule: number[]): number {
  return schedule.reduce((sum, d) => sum + d, 0);
}

/**
 * When to try again after `failedAttempts` failed attempts in this run, or null to give up.
 * `random` (0…1) spreads retries by ±jitter so that endpoints recovering together are not hit
 * by every retry in the same second.
 */
export function nextRetryAt(schedule: number[], failedAttempts: number, now: Date, jitter = 0, random: () => number = Math.random): Date | null {
  if (failedAttempts < 1) throw new Error('failedAttempts starts at 1');
  const delay = schedule[failedAttempts - 1];
  if (delay === undefined) return null;
  const factor = jitter > 0 ? 1 + jitter * (2 * random() - 1) : 1;
  return new Date(now.getTime() + Math.round(delay * factor));
}
