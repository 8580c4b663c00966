import type { RewardKind } from '../db/schema.ts';
import type { Benefit } from './reward-benefit.ts';

export interface CartLine {
  sku: string;
  quantity: number;
  unitPriceMinor: number;
}

/** The part of a shop's cart a voucher needs to know; amounts in minor units of the program currency. */
export interface Cart {
  currency?: string;
  /** Items total before this voucher, without shipping. */
  subtotalMinor: number;
  shippingMinor?: number;
  items?: CartLine[];
  /** The order renews a subscription. */
  renewal?: boolean;
  subscriptionId?: string;
}

export interface Discount {
  /** Money off this cart, minor units; never more than the cart (subtotal, or shipping for free shipping). */
  amountMinor: number;
  freeShipping: boolean;
  freeItems: { sku: string; quantity: number; amountMinor: number }[];
}

export type DiscountResult = { applicable: true; discount: Discount } | { applicable: false; reason: string };

const none = (reason: string): DiscountResult => ({ applicable: false, reason });

/** Exact floor(a × b / c) for safe integers whose product may exceed 2^53. */
export function mulDiv(a: number, b: number, c: number): number {
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

/** What a voucher of this kind gives on this cart; pure, no rounding in the member's favour beyond a whole minor unit down. */
export function discountFor(kind: RewardKind, benefit: Benefit, cart: Cart): DiscountResult {
  const subtotal = cart.subtotalMinor;
  if (benefit.minimumOrderMinor !== undefined && subtotal < benefit.minimumOrderMinor) {
    return none(`the cart subtotal ${subtotal} is below the minimum order of ${benefit.minimumOrderMinor}`);
  }
  const money = (amountMinor: number): DiscountResult => ({ applicable: true, discount: { amountMinor, freeShipping: false, freeItems: [] } });
  switch (kind) {
    case 'fixed_amount':
    case 'gift_note':
      if (subtotal <= 0) return none('the cart is empty');
      return money(Math.min(benefit.amountOffMinor!, subtotal));
    case 'percentage': {
      if (subtotal <= 0) return none('the cart is empty');
      const off = mulDiv(subtotal, benefit.percent!, 100);
      return money(benefit.maxDiscountMinor === undefined ? off : Math.min(off, benefit.maxDiscountMinor));
    }
    case 'free_shipping': {
      const shipping = cart.shippingMinor ?? 0;
      const off = benefit.maxShippingMinor === undefined ? shipping : Math.min(shipping, benefit.maxShippingMinor);
      return { applicable: true, discount: { amountMinor: off, freeShipping: true, freeItems: [] } };
    }
    case 'free_product': {
      const lines = (cart.items ?? []).filter((l) => l.sku === benefit.sku);
      const inCart = lines.reduce((s, l) => s + l.quantity, 0);
      if (inCart === 0) return none(`the cart has no item with SKU "${benefit.sku}"; add it to the cart to apply this reward`);
      const quantity = Math.min(inCart, benefit.quantity ?? 1);
      // The cheapest matching lines first: the reward never gives more than one unit's worth each.
      const prices = lines.flatMap((l) => Array.from({ length: Math.min(l.quantity, quantity) }, () => l.unitPriceMinor)).sort((a, b) => a - b);
      const off = Math.min(prices.slice(0, quantity).reduce((s, p) => s + p, 0), subtotal);
      return { applicable: true, discount: { amountMinor: off, freeShipping: false, freeItems: [{ sku: benefit.sku!, quantity, amountMinor: off }] } };
    }
    default:
      return none(`a ${kind} voucher is not a discount and does not apply to a cart`);
  }
}
