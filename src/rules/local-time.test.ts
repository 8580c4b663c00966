import { describe, expect, it } from 'vitest';
import { isCalendarDate, localTime, parseClock, periodBounds, periodKey } from './local-time.ts';

describe('local time', () => {
  it('reads the wall clock of the program’s time zone', () => {
    const l = localTime(new Date('2025-03-15T03:30:00Z'), 'America/New_York');
    expect(l).toEqual({ date: '2025-03-14', year: 2025, month: 3, day: 14, weekday: 5, minuteOfDay: 23 * 60 + 30 });
    expect(localTime(new Date('2025-03-14T16:00:00Z'), 'Asia/Seoul').date).toBe('2025-03-15');
  });

  it('names periods, ISO weeks included', () => {
    const at = (iso: string) => localTime(new Date(iso), 'UTC');
    expect(periodKey('day', at('2025-03-14T10:00:00Z'))).toBe('day:2025-03-14');
    expect(periodKey('week', at('2025-03-14T10:00:00Z'))).toBe('week:2025-W11');
    expect(periodKey('week', at('2024-12-30T10:00:00Z'))).toBe('week:2025-W01');
    expect(periodKey('week', at('2021-01-03T10:00:00Z'))).toBe('week:2020-W53');
    expect(periodKey('month', at('2025-03-14T10:00:00Z'))).toBe('month:2025-03');
    expect(periodKey('year', at('2025-03-14T10:00:00Z'))).toBe('year:2025');
    expect(periodKey('lifetime', at('2025-03-14T10:00:00Z'))).toBe('lifetime');
  });

  it('bounds periods at local midnight, across daylight saving changes', () => {
    // DST starts in New York on Sunday 2025-03-09.
    const week = periodBounds('week', new Date('2025-03-12T12:00:00Z'), 'America/New_York')!;
    expect(week.start.toISOString()).toBe('2025-03-10T04:00:00.000Z');
    expect(week.end.toISOString()).toBe('2025-03-17T04:00:00.000Z');
    const day = periodBounds('day', new Date('2025-03-09T12:00:00Z'), 'America/New_York')!;
    expect(day.end.getTime() - day.start.getTime()).toBe(23 * 3_600_000);
    expect(periodBounds('month', new Date('2025-12-31T23:00:00Z'), 'UTC')!.end.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(periodBounds('lifetime', new Date(), 'UTC')).toBeNull();
  });

  it('parses clock times and dates strictly', () => {
    expect(parseClock('09:30')).toBe(570);
    expect(parseClock('24:00')).toBe(1440);
    expect(parseClock('24:01')).toBeNaN();
    expect(parseClock('9:30')).toBeNaN();
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2025-02-29')).toBe(false);
  });
});
