import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeOfId, timeOrderedId } from './time-ordered-id.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeOrderedId', () => {
  it('is a version-7 UUID of the RFC 9562 variant whose first 48 bits are the instant', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (ms) => {
      const id = timeOrderedId(new Date(ms));
      expect(id).toMatch(V7);
      expect(timeOfId(id).getTime()).toBe(ms);
    }));
  });

  it('orders as text (and as PostgreSQL orders uuids) by the instant', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 2 }), fc.integer({ min: 1, max: 10 ** 9 }), (ms, later) => {
      const a = timeOrderedId(new Date(ms));
      const b = timeOrderedId(new Date(Math.min(ms + later, 2 ** 48 - 1)));
      expect(a < b).toBe(true);
    }));
  });

  it('draws 74 random bits: ids of one instant differ', () => {
    const at = new Date('2026-12-07T12:00:00.000Z');
    const ids = new Set(Array.from({ length: 10_000 }, () => timeOrderedId(at)));
    expect(ids.size).toBe(10_000);
    const tails = new Set([...ids].map((id) => id.slice(15, 18)));
    expect(tails.size).toBeGreaterThan(1_000); // rand_a (12 bits) is drawn too, not fixed
  });

  it('refuses an instant it cannot hold', () => {
    expect(() => timeOrderedId(new Date(Number.NaN))).toThrow(/invariant/);
    expect(() => timeOrderedId(new Date(-1))).toThrow(/invariant/);
    // A valid Date (year 10889) whose milliseconds no longer fit in 48 bits.
    expect(() => timeOrderedId(new Date(2 ** 48))).toThrow(/invariant/);
    expect(timeOfId(timeOrderedId(new Date(2 ** 48 - 1))).getTime()).toBe(2 ** 48 - 1);
  });
});
