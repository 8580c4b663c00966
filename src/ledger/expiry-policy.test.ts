import { describe, expect, it } from 'vitest';
import { expiresAt, zonedMidnight } from './expiry-policy.ts';

describe('expiresAt', () => {
  it('never expires', () => {
    expect(expiresAt({ kind: 'never', count: 0 }, new Date('2026-01-01T00:00:00Z'), 'UTC')).toBeNull();
  });

  it('adds exact days after earning', () => {
    expect(expiresAt({ kind: 'days_after_earn', count: 90 }, new Date('2026-01-01T10:00:00Z'), 'Europe/Paris')?.toISOString())
      .toBe('2026-04-01T10:00:00.000Z');
  });

  it('ends the month in program time, not server time', () => {
    // 00:30 on 1 February in Seoul is still 31 January in UTC.
    const earned = new Date('2026-01-31T15:30:00Z');
    expect(expiresAt({ kind: 'end_of_month', count: 0 }, earned, 'Asia/Seoul')?.toISOString()).toBe('2026-02-28T15:00:00.000Z');
    expect(expiresAt({ kind: 'end_of_month', count: 0 }, earned, 'UTC')?.toISOString()).toBe('2026-02-01T00:00:00.000Z');
  });

  it('handles month overflow into the next year and DST offsets', () => {
    const earned = new Date('2026-11-15T12:00:00Z');
    // end of January 2027 in New York (EST, UTC-5)
    expect(expiresAt({ kind: 'end_of_month', count: 2 }, earned, 'America/New_York')?.toISOString()).toBe('2027-02-01T05:00:00.000Z');
    // end of March 2027 in New York is after the DST switch (EDT, UTC-4)
    expect(expiresAt({ kind: 'end_of_month', count: 4 }, earned, 'America/New_York')?.toISOString()).toBe('2027-04-01T04:00:00.000Z');
  });

  it('ends the calendar year in program time', () => {
    // 23:30 on 31 December in Los Angeles is 1 January in UTC: still the old year locally.
    const earned = new Date('2027-01-01T07:30:00Z');
    expect(expiresAt({ kind: 'end_of_year', count: 0 }, earned, 'America/Los_Angeles')?.toISOString()).toBe('2027-01-01T08:00:00.000Z');
    expect(expiresAt({ kind: 'end_of_year', count: 1 }, earned, 'America/Los_Angeles')?.toISOString()).toBe('2028-01-01T08:00:00.000Z');
  });

  it('finds local midnight across zones', () => {
    expect(zonedMidnight(2026, 3, 1, 'Asia/Tokyo').toISOString()).toBe('2026-02-28T15:00:00.000Z');
    expect(zonedMidnight(2026, 7, 1, 'Asia/Kolkata').toISOString()).toBe('2026-06-30T18:30:00.000Z');
  });
});
