import { describe, expect, it } from 'vitest';
import { atRiskDecision, birthdayDaysFor, reminderWindow } from './lifecycle-rules.ts';

const DAY = 86_400_000;
const settings = { multiplier: 3, minPurchases: 3, minDays: 14, fixedDays: 90, maxDays: 365 };
const now = new Date('2030-06-01T12:00:00Z');
const ago = (days: number) => new Date(now.getTime() - days * DAY);

describe('reminder windows', () => {
  it('picks the smallest window that still covers the days left', () => {
    expect(reminderWindow([7, 30], 20)).toBe(30);
    expect(reminderWindow([7, 30], 30)).toBe(30);
    expect(reminderWindow([7, 30], 7)).toBe(7);
    expect(reminderWindow([7, 30], 0)).toBe(7);
    expect(reminderWindow([7, 30], 31)).toBeNull();
    expect(reminderWindow([7, 30], -1)).toBeNull();
    expect(reminderWindow([], 3)).toBeNull();
  });
});

describe('birthdays', () => {
  it('celebrates 29 February on 28 February outside leap years', () => {
    expect(birthdayDaysFor('2031-02-28')).toEqual({ month: 2, days: [28, 29] });
    expect(birthdayDaysFor('2032-02-28')).toEqual({ month: 2, days: [28] });
    expect(birthdayDaysFor('2032-02-29')).toEqual({ month: 2, days: [29] });
    expect(birthdayDaysFor('2100-02-28')).toEqual({ month: 2, days: [28, 29] });
    expect(birthdayDaysFor('2000-02-28')).toEqual({ month: 2, days: [28] });
    expect(birthdayDaysFor('2031-12-31')).toEqual({ month: 12, days: [31] });
  });
});

describe('at-risk detection', () => {
  it('uses k × the usual interval between purchases', () => {
    // Purchases every 10 days: at risk after 30 days without one.
    const history = { purchases: 5, firstAt: ago(29 + 40), lastAt: ago(29), lastActivityAt: ago(29), now };
    expect(atRiskDecision(history, settings)).toBeNull();
    const lapsed = { ...history, firstAt: ago(31 + 40), lastAt: ago(31) };
    expect(atRiskDecision(lapsed, settings)).toMatchObject({ basis: 'usual_interval', usualIntervalDays: 10, thresholdDays: 30, daysSince: 31 });
  });

  it('never flags a frequent buyer sooner than minDays', () => {
    const daily = { purchases: 10, firstAt: ago(13 + 9), lastAt: ago(13), lastActivityAt: null, now };
    expect(atRiskDecision(daily, settings)).toBeNull();
    expect(atRiskDecision({ ...daily, firstAt: ago(14 + 9), lastAt: ago(14) }, settings)).toMatchObject({ thresholdDays: 14 });
  });

  it('falls back to a fixed number of days with few purchases, or since the last activity', () => {
    expect(atRiskDecision({ purchases: 1, firstAt: ago(89), lastAt: ago(89), lastActivityAt: ago(1), now }, settings)).toBeNull();
    expect(atRiskDecision({ purchases: 2, firstAt: ago(100), lastAt: ago(91), lastActivityAt: null, now }, settings)).toMatchObject({ basis: 'fixed_days', thresholdDays: 90 });
    expect(atRiskDecision({ purchases: 0, firstAt: null, lastAt: null, lastActivityAt: ago(95), now }, settings)).toMatchObject({ basis: 'fixed_days', daysSince: 95 });
    expect(atRiskDecision({ purchases: 0, firstAt: null, lastAt: null, lastActivityAt: null, now }, settings)).toBeNull();
  });

  it('leaves churned members alone', () => {
    expect(atRiskDecision({ purchases: 1, firstAt: ago(400), lastAt: ago(400), lastActivityAt: null, now }, settings)).toBeNull();
  });
});
