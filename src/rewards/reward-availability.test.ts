import { describe, expect, it } from 'vitest';
import { checkWindow, localWeekday, nextOpening, periodStart } from './reward-availability.ts';

const NY = 'America/New_York';

describe('reward windows in the program time zone', () => {
  it('reads the weekday on the local wall clock', () => {
    // 2025-03-04 is a Tuesday; 03:00 UTC is still Monday evening in New York.
    expect(localWeekday(new Date('2025-03-04T03:00:00Z'), NY)).toBe(1);
    expect(localWeekday(new Date('2025-03-04T05:00:00Z'), NY)).toBe(2);
    expect(localWeekday(new Date('2025-03-04T03:00:00Z'), 'Asia/Seoul')).toBe(2);
    expect(localWeekday(new Date('2025-03-09T12:00:00Z'), NY)).toBe(7);
  });

  it('a Tuesday/Thursday bazaar is open on those local days only', () => {
    const bazaar = { startsAt: null, endsAt: null, weekdays: [2, 4] };
    expect(checkWindow(bazaar, new Date('2025-03-04T05:00:00Z'), NY).open).toBe(true);
    expect(checkWindow(bazaar, new Date('2025-03-04T03:59:00Z'), NY)).toMatchObject({ open: false, reason: 'weekday' });
    expect(checkWindow(bazaar, new Date('2025-03-06T23:00:00Z'), NY).open).toBe(true);
    expect(checkWindow(bazaar, new Date('2025-03-07T05:00:00Z'), NY).open).toBe(false);
    // Next opening from a Friday: Tuesday 00:00 in New York (EDT after 9 March 2025).
    expect(nextOpening(bazaar, new Date('2025-03-07T15:00:00Z'), NY)?.toISOString()).toBe('2025-03-11T04:00:00.000Z');
  });

  it('dates bound the window: start inclusive, end exclusive', () => {
    const w = { startsAt: new Date('2025-01-01T00:00:00Z'), endsAt: new Date('2025-02-01T00:00:00Z'), weekdays: null };
    expect(checkWindow(w, new Date('2024-12-31T23:59:59Z'), NY)).toMatchObject({ open: false, reason: 'not_started' });
    expect(checkWindow(w, new Date('2025-01-01T00:00:00Z'), NY).open).toBe(true);
    expect(checkWindow(w, new Date('2025-02-01T00:00:00Z'), NY)).toMatchObject({ open: false, reason: 'ended' });
    expect(nextOpening(w, new Date('2024-12-01T00:00:00Z'), NY)?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(nextOpening(w, new Date('2025-03-01T00:00:00Z'), NY)).toBeNull();
  });

  it('limit periods start at local midnight', () => {
    const now = new Date('2025-03-06T03:30:00Z'); // Wednesday 22:30 in New York
    expect(periodStart('day', now, NY)?.toISOString()).toBe('2025-03-05T05:00:00.000Z');
    expect(periodStart('week', now, NY)?.toISOString()).toBe('2025-03-03T05:00:00.000Z');
    expect(periodStart('month', now, NY)?.toISOString()).toBe('2025-03-01T05:00:00.000Z');
    expect(periodStart('year', now, NY)?.toISOString()).toBe('2025-01-01T05:00:00.000Z');
    expect(periodStart('lifetime', now, NY)).toBeNull();
  });
});
