import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limiter.ts';

describe('createRateLimiter', () => {
  it('lets max requests of a key pass per window, each key on its own, and opens a new window when one closes', () => {
    let nowMs = 1_000_000;
    const limiter = createRateLimiter({ max: 3, windowMs: 60_000, now: () => nowMs });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ allowed: false, remaining: 0, resetSeconds: 60 });
    expect(limiter.take('b')).toEqual({ allowed: true, remaining: 2, resetSeconds: 60 });
    nowMs += 59_001;
    expect(limiter.take('a')).toEqual({ allowed: false, remaining: 0, resetSeconds: 1 });
    nowMs += 999;
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 2, resetSeconds: 60 });
  });

  it('forgets keys whose window closed, so the map holds only keys seen within about two windows', () => {
    let nowMs = 0;
    const limiter = createRateLimiter({ max: 1, windowMs: 1_000, now: () => nowMs });
    for (let i = 0; i < 100; i++) limiter.take(`key-${i}`);
    expect(limiter.size).toBe(100);
    nowMs = 1_000;
    limiter.take('later');
    expect(limiter.size).toBe(1);
  });

  it('refuses a limit that would let nothing through, or a window of no time', () => {
    expect(() => createRateLimiter({ max: 0, windowMs: 1_000 })).toThrow();
    expect(() => createRateLimiter({ max: 1.5, windowMs: 1_000 })).toThrow();
    expect(() => createRateLimiter({ max: 1, windowMs: 0 })).toThrow();
    expect(() => createRateLimiter({ max: 1, windowMs: Number.NaN })).toThrow();
  });
});
