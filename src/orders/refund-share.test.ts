import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refundedPartOf, refundShares, remainingOf, type RefundInput, type ShareLine } from './refund-share.ts';

const ids = ['a', 'b'];
const lines: ShareLine[] = [
  { id: 'a', quantity: 2, moneyMinor: 6000 },
  { id: 'b', quantity: 1, moneyMinor: 4000 },
];

describe('refundShares', () => {
  it('leaves everything when nothing is refunded', () => {
    const s = refundShares(lines, { quantities: {}, amountMinor: 0, full: false });
    expect(s.none).toBe(true);
    expect(remainingOf({ lines: [60, 40], order: 7 }, ids, s)).toBe(107);
  });

  it('takes a refunded line’s share of its points, rounding what remains down', () => {
    const s = refundShares(lines, { quantities: { a: 1 }, amountMinor: 0, full: false });
    expect(s.refundedMinor).toBe(3000);
    expect(remainingOf({ lines: [61, 40], order: 0 }, ids, s)).toBe(70); // 30.5 + 40 → 70
    // an order-level bonus keeps the share of the money left: 7000 / 10000
    expect(remainingOf({ lines: [], order: 10 }, ids, s)).toBe(7);
  });

  it('spreads a refund by amount over the remaining lines', () => {
    const s = refundShares(lines, { quantities: {}, amountMinor: 2500, full: false });
    expect(s.refundedMinor).toBe(2500);
    expect(remainingOf({ lines: [60, 40], order: 0 }, ids, s)).toBe(75);
  });

  it('combines line and amount refunds independently of their order', () => {
    const s = refundShares(lines, { quantities: { b: 1 }, amountMinor: 3000, full: false });
    // 6000 left after line b; 3000 more refunded → half of line a remains
    expect(remainingOf({ lines: [60, 40], order: 10 }, ids, s)).toBe(30 + 3);
  });

  it('treats everything refunded, an amount beyond what is left, or full as a full refund', () => {
    for (const refund of <RefundInput[]>[
      { quantities: { a: 2, b: 1 }, amountMinor: 0, full: false },
      { quantities: { a: 5, b: 9 }, amountMinor: 0, full: false },
      { quantities: { a: 1 }, amountMinor: 99_999, full: false },
      { quantities: {}, amountMinor: 0, full: true },
    ]) {
      const s = refundShares(lines, refund);
      expect(s.fully).toBe(true);
      expect(s.refundedMinor).toBe(10000);
      expect(remainingOf({ lines: [60, 40], order: 9 }, ids, s)).toBe(0);
    }
  });

  it('gives points paid with back in proportion, all of them on a full refund', () => {
    expect(refundedPartOf(333, refundShares(lines, { quantities: { b: 1 }, amountMinor: 0, full: false }))).toBe(133);
    expect(refundedPartOf(333, refundShares(lines, { quantities: {}, amountMinor: 0, full: true }))).toBe(333);
    expect(refundedPartOf(333, refundShares(lines, { quantities: {}, amountMinor: 0, full: false }))).toBe(0);
  });

  it('uses quantities when the lines cost nothing', () => {
    const free = [{ id: 'x', quantity: 4, moneyMinor: 0 }];
    const s = refundShares(free, { quantities: { x: 1 }, amountMinor: 0, full: false });
    expect(remainingOf({ lines: [8], order: 4 }, ['x'], s)).toBe(6 + 3);
  });

  it('never leaves more than was earned, never goes up with more refunds, and depends only on the totals', () => {
    const arbLines = fc.array(fc.record({ quantity: fc.integer({ min: 1, max: 5 }), moneyMinor: fc.integer({ min: 0, max: 100_000 }), points: fc.integer({ min: 0, max: 5_000 }) }), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(arbLines, fc.array(fc.tuple(fc.nat(5), fc.nat(3), fc.nat(20_000)), { maxLength: 5 }), fc.nat(500), (ls, refunds, orderPoints) => {
      const share = ls.map((l, i) => ({ id: `l${i}`, quantity: l.quantity, moneyMinor: l.moneyMinor }));
      const attribution = { lines: ls.map((l) => l.points), order: orderPoints };
      const lineIds = ls.map((_, i) => `l${i}`);
      const earned = ls.reduce((s, l) => s + l.points, 0) + orderPoints;
      let previous = earned;
      const quantities: Record<string, number> = {};
      let amount = 0;
      for (const [lineIndex, qty, amountMinor] of refunds) {
        const id = `l${lineIndex % ls.length}`;
        quantities[id] = (quantities[id] ?? 0) + qty;
        amount += amountMinor;
        const left = remainingOf(attribution, lineIds, refundShares(share, { quantities, amountMinor: amount, full: false }));
        expect(left).toBeGreaterThanOrEqual(0);
        expect(left).toBeLessThanOrEqual(previous);
        previous = left;
      }
      // The same refunds in reverse order give the same remainder.
      const q2: Record<string, number> = {};
      for (const [lineIndex, qty] of [...refunds].reverse()) q2[`l${lineIndex % ls.length}`] = (q2[`l${lineIndex % ls.length}`] ?? 0) + qty;
      expect(remainingOf(attribution, lineIds, refundShares(share, { quantities: q2, amountMinor: amount, full: false }))).toBe(previous);
    }));
  });
});
