import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountForPoints, pointsForAmount, pointsToRestore, quote } from './points-conversion.ts';

const carters = { ratePoints: 75, rateAmountMinor: 1000, minimumPoints: 0, maxSharePercent: 100 };

describe('points ↔ money', () => {
  it('converts at the rate: 75 points = $10', () => {
    expect(amountForPoints(75, carters)).toBe(1000);
    expect(pointsForAmount(1000, carters)).toBe(75);
    expect(amountForPoints(80, carters)).toBe(1066);
    expect(pointsForAmount(1066, carters)).toBe(80);
    expect(pointsForAmount(1, carters)).toBe(1);
  });

  it('never pays more money than the points are worth, nor takes more points than asked', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e6 }), (points, p, m) => {
      const rate = { ratePoints: p, rateAmountMinor: m };
      const amount = amountForPoints(points, rate);
      if (amount > 0) expect(pointsForAmount(amount, rate)).toBeLessThanOrEqual(points);
      // The points charged for an amount are always worth at least that amount.
      expect(amountForPoints(pointsForAmount(amount, rate), rate)).toBeGreaterThanOrEqual(amount);
    }));
  });

  it('quotes within the share limit and the balance', () => {
    const limits = { ratePoints: 100, rateAmountMinor: 100, minimumPoints: 500, maxSharePercent: 50 };
    expect(quote(10_000, 8000, limits)).toEqual({ maxAmountMinor: 4000, maxPoints: 4000, minimumPoints: 500, eligible: true });
    expect(quote(1200, 8000, limits)).toMatchObject({ maxAmountMinor: 1200, maxPoints: 1200, eligible: true });
    expect(quote(300, 8000, limits)).toMatchObject({ maxAmountMinor: 300, eligible: false });
    expect(quote(-50, 8000, limits)).toMatchObject({ maxAmountMinor: 0, maxPoints: 0, eligible: false });
  });

  it('refunds restore points in proportion, exactly the captured points in the end', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e9 }), fc.array(fc.integer({ min: 1, max: 1e6 }), { minLength: 1, maxLength: 20 }),
      (captured, total, parts) => {
        let refunded = 0;
        let restored = 0;
        for (const part of parts) {
          const step = Math.min(part, total - refunded);
          if (step <= 0) break;
          const r = pointsToRestore(captured, total, refunded, step);
          expect(r).toBeGreaterThanOrEqual(0);
          refunded += step;
          restored += r;
          expect(restored).toBeLessThanOrEqual(captured);
        }
        if (refunded < total) restored += pointsToRestore(captured, total, refunded, total - refunded);
        expect(restored).toBe(captured);
      },
    ));
    expect(pointsToRestore(2000, 10_000, 0, 5000)).toBe(1000);
  });
});
