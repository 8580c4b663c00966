import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discountFor, mulDiv } from './voucher-discount.ts';

const cart = (subtotalMinor: number, extra: Record<string, unknown> = {}) => ({ subtotalMinor, ...extra });

describe('voucher discounts', () => {
  it('fixed amount: never more than the subtotal; respects the minimum order', () => {
    expect(discountFor('fixed_amount', { amountOffMinor: 2000 }, cart(5000))).toEqual({ applicable: true, discount: { amountMinor: 2000, freeShipping: false, freeItems: [] } });
    expect(discountFor('gift_note', { amountOffMinor: 2000 }, cart(1500))).toMatchObject({ applicable: true, discount: { amountMinor: 1500 } });
    expect(discountFor('fixed_amount', { amountOffMinor: 2000, minimumOrderMinor: 5000 }, cart(4999))).toMatchObject({ applicable: false });
    expect(discountFor('fixed_amount', { amountOffMinor: 2000 }, cart(0))).toMatchObject({ applicable: false });
  });

  it('percentage: rounds down and caps at the maximum', () => {
    expect(discountFor('percentage', { percent: 15 }, cart(999))).toMatchObject({ discount: { amountMinor: 149 } });
    expect(discountFor('percentage', { percent: 50, maxDiscountMinor: 1000 }, cart(10_000))).toMatchObject({ discount: { amountMinor: 1000 } });
  });

  it('free shipping waives shipping up to a cap', () => {
    expect(discountFor('free_shipping', {}, cart(100, { shippingMinor: 799 }))).toMatchObject({ discount: { amountMinor: 799, freeShipping: true } });
    expect(discountFor('free_shipping', { maxShippingMinor: 500 }, cart(100, { shippingMinor: 799 }))).toMatchObject({ discount: { amountMinor: 500 } });
  });

  it('free product needs the SKU in the cart and gives the cheapest units', () => {
    const items = [{ sku: 'MUG', quantity: 1, unitPriceMinor: 900 }, { sku: 'MUG', quantity: 2, unitPriceMinor: 700 }, { sku: 'TEE', quantity: 1, unitPriceMinor: 2000 }];
    expect(discountFor('free_product', { sku: 'MUG', quantity: 2 }, cart(4300, { items }))).toEqual({
      applicable: true, discount: { amountMinor: 1400, freeShipping: false, freeItems: [{ sku: 'MUG', quantity: 2, amountMinor: 1400 }] },
    });
    expect(discountFor('free_product', { sku: 'CAP', quantity: 1 }, cart(4300, { items }))).toMatchObject({ applicable: false });
  });

  it('non-discount kinds never apply to a cart', () => {
    for (const kind of ['store_credit', 'donation', 'experience', 'custom'] as const) expect(discountFor(kind, {}, cart(1000))).toMatchObject({ applicable: false });
  });

  it('a discount never exceeds what it applies to', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 1e12 }), fc.integer({ min: 0, max: 1e6 }),
      (subtotal, percent, off, shipping) => {
        for (const [kind, benefit] of [['percentage', { percent }], ['fixed_amount', { amountOffMinor: off }]] as const) {
          const r = discountFor(kind, benefit, cart(subtotal));
          if (r.applicable) expect(r.discount.amountMinor).toBeLessThanOrEqual(subtotal);
        }
        const s = discountFor('free_shipping', {}, cart(subtotal, { shippingMinor: shipping }));
        expect(s.applicable && s.discount.amountMinor).toBe(shipping);
      },
    ));
  });

  it('mulDiv is exact beyond 2^53 intermediate products', () => {
    expect(mulDiv(Number.MAX_SAFE_INTEGER, 100, 100)).toBe(Number.MAX_SAFE_INTEGER);
    expect(mulDiv(9_007_199_254_740_991, 3, 7)).toBe(Number((9_007_199_254_740_991n * 3n) / 7n));
  });
});
