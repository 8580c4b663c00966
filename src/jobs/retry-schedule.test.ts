import { describe, expect, it } from 'vitest';
import { DEFAULT_MESSAGE_SCHEDULE_MS, DEFAULT_WEBHOOK_SCHEDULE_MS, nextRetryAt, parseSchedule, totalSpanMs } from './retry-schedule.ts';

const HOUR = 3_600_000;

describe('retry schedules', () => {
  it('parses durations with units', () => {
    expect(parseSchedule('250ms, 5s,5m,2h,1d,40')).toEqual([250, 5_000, 300_000, 2 * HOUR, 24 * HOUR, 40]);
    expect(parseSchedule('')).toEqual([]);
    expect(() => parseSchedule('5 minutes')).toThrow(/not a duration/);
    expect(() => parseSchedule('-5s')).toThrow(/not a duration/);
  });

  it('keeps retrying webhooks for at least 24 hours, even with the most negative jitter', () => {
    expect(totalSpanMs(DEFAULT_WEBHOOK_SCHEDULE_MS)).toBeGreaterThanOrEqual(24 * HOUR);
    const start = new Date('2030-01-01T00:00:00Z');
    let at = start;
    for (let failed = 1; ; failed++) {
      const next = nextRetryAt(DEFAULT_WEBHOOK_SCHEDULE_MS, failed, at, 0.1, () => 0);
      if (!next) break;
      expect(next.getTime()).toBeGreaterThan(at.getTime());
      at = next;
    }
    expect(at.getTime() - start.getTime()).toBeGreaterThanOrEqual(24 * HOUR);
    expect(totalSpanMs(DEFAULT_MESSAGE_SCHEDULE_MS)).toBeGreaterThan(8 * HOUR);
  });

  it('backs off exponentially-ish and gives up after the last retry', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const schedule = [100, 400, 1600];
    expect(nextRetryAt(schedule, 1, now)!.getTime() - now.getTime()).toBe(100);
    expect(nextRetryAt(schedule, 3, now)!.getTime() - now.getTime()).toBe(1600);
    expect(nextRetryAt(schedule, 4, now)).toBeNull();
    expect(nextRetryAt([], 1, now)).toBeNull();
    expect(() => nextRetryAt(schedule, 0, now)).toThrow();
  });

  it('spreads retries within ±jitter', () => {
    const now = new Date(0);
    expect(nextRetryAt([1000], 1, now, 0.2, () => 0)!.getTime()).toBe(800);
    expect(nextRetryAt([1000], 1, now, 0.2, () => 1)!.getTime()).toBe(1200);
    expect(nextRetryAt([1000], 1, now, 0.2, () => 0.5)!.getTime()).toBe(1000);
  });
});
