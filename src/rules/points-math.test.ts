import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apportion, formatMoney, mulDiv } from './points-math.ts';

describe('points math', () => {
  it('multiplies and divides integers exactly, in every rounding mode', () => {
    expect(mulDiv(1999, 1, 100)).toBe(19);
    expect(mulDiv(1950, 1, 100, 'round')).toBe(20);
    expect(mulDiv(1949, 1, 100, 'round')).toBe(19);
    expect(mulDiv(1901, 1, 100, 'ceil')).toBe(20);
    expect(mulDiv(1900, 1, 100, 'ceil')).toBe(19);
    expect(mulDiv(9_000_000_000_000, 3_000, 7)).toBe(3_857_142_857_142_857);
    expect(() => mulDiv(9_000_000_000_000, 1_000_000, 3)).toThrow(/more than 2\^53/);
    fc.assert(fc.property(fc.nat(1e12), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e9 }), (a, b, d) => {
      const exact = (BigInt(a) * BigInt(b)) / BigInt(d);
      if (exact > BigInt(Number.MAX_SAFE_INTEGER)) return;
      expect(mulDiv(a, b, d)).toBe(Number(exact));
    }));
  });

  it('apportions exactly the total, proportionally, deterministically', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(apportion(5, [0, 0])).toBeNull();
    expect(apportion(7, [0, 5])).toEqual([0, 7]);
    fc.assert(fc.property(fc.nat(1e9), fc.array(fc.nat(1e9), { minLength: 1, maxLength: 20 }), (total, weights) => {
      const parts = apportion(total, weights);
      if (weights.every((w) => w === 0)) {
        // Not `return expect(…)`: a matcher's return value is not a verdict, and fast-check took it for false.
        expect(parts).toBeNull();
        return;
      }
      expect(parts!.reduce((s, p) => s + p, 0)).toBe(total);
      const sum = weights.reduce((s, w) => s + w, 0);
      parts!.forEach((p, i) => {
        expect(Math.abs(p - (total * weights[i]!) / sum)).toBeLessThan(1 + 1e-6);
        if (weights[i] === 0) expect(p).toBe(0);
      });
    }));
  });

  it('formats minor units with the currency exponent', () => {
    expect(formatMoney(12345, { code: 'USD', exponent: 2 })).toBe('123.45 USD');
    expect(formatMoney(5, { code: 'USD', exponent: 2 })).toBe('0.05 USD');
    expect(formatMoney(1500, { code: 'JPY', exponent: 0 })).toBe('1500 JPY');
    expect(formatMoney(1500, { code: 'KWD', exponent: 3 })).toBe('1.500 KWD');
  });
});
