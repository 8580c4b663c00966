import { describe, expect, it } from 'vitest';
import type { ProblemError } from '../http/error-codes.ts';
import { parseBenefit } from './reward-benefit.ts';

function failure(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return `${(e as ProblemError).code}: ${(e as Error).message}`;
  }
}

describe('reward benefits', () => {
  it('accepts what each kind needs', () => {
    expect(parseBenefit('percentage', { percent: 20, maxDiscountMinor: 5000 })).toEqual({ percent: 20, maxDiscountMinor: 5000 });
    expect(parseBenefit('free_product', { sku: 'MUG' })).toEqual({ sku: 'MUG', quantity: 1 });
    expect(parseBenefit('custom', undefined)).toEqual({});
  });

  it('names the missing or foreign field', () => {
    expect(failure(() => parseBenefit('fixed_amount', {}))).toMatch(/validation_failed: .*amountOffMinor/);
    expect(failure(() => parseBenefit('percentage', { percent: 101 }))).toMatch(/percent/);
    expect(failure(() => parseBenefit('free_shipping', { sku: 'X' }))).toMatch(/sku does not apply/);
    expect(failure(() => parseBenefit('donation', { cause: 'two words' }))).toMatch(/cause/);
    expect(failure(() => parseBenefit('store_credit', { wallet: 'cashback', amount: 1.5 }))).toMatch(/amount/);
  });
});
