import { ProblemError } from '../http/error-codes.ts';
import type { Rounding } from './rule-config.ts';

const SAFE = Number.MAX_SAFE_INTEGER;

function bigDiv(n: bigint, d: bigint, mode: Rounding): bigint {
  switch (mode) {
    case 'floor':
      return n / d;
    case 'ceil':
      return (n + d - 1n) / d;
    case 'round':
      return (2n * n + d) / (2n * d);
  }
}

/**
 * a × b ÷ d for non-negative integers, rounded by `mode` ('round' is half up), exact for any
 * size: integers stay integers, never floats (the product may exceed 2^53; then BigInt).
 */
export function mulDiv(a: number, b: number, d: number, mode: Rounding = 'floor'): number {
  const product = a * b;
  let result: number;
  if (product <= SAFE) {
    switch (mode) {
      case 'floor':
        result = Math.floor(product / d);
        // Float division of safe integers can land just below an exact integer quotient.
        if ((result + 1) * d <= product) result += 1;
        else if (result * d > product) result -= 1;
        break;
      case 'ceil':
        result = mulDiv(a, b, d, 'floor');
        if (result * d < product) result += 1;
        break;
      case 'round': {
        const floor = mulDiv(a, b, d, 'floor');
        result = (product - floor * d) * 2 >= d ? floor + 1 : floor;
        break;
      }
    }
  } else {
    const big = bigDiv(BigInt(a) * BigInt(b), BigInt(d), mode);
    if (big > BigInt(SAFE)) throw new ProblemError('invalid_rule', 'a rule would give more than 2^53 points; lower its rate');
    result = Number(big);
  }
  return result;
}

/** Gives one more unit to the `left` parts with the largest remainders (ties: the earlier part). */
function distribute(parts: number[], remainders: number[], left: number) {
  if (left <= 8) {
    for (; left > 0; left--) {
      let best = -1;
      let bestRemainder = -0.5;
      for (let i = 0; i < remainders.length; i++) {
        if (remainders[i]! > bestRemainder) {
          best = i;
          bestRemainder = remainders[i]!;
        }
      }
      parts[best]! += 1;
      remainders[best] = -2;
    }
    return;
  }
  const order = Array.from({ length: parts.length }, (_, i) => i).filter((i) => remainders[i]! >= 0);
  order.sort((x, y) => remainders[y]! - remainders[x]! || x - y);
  for (let k = 0; k < left; k++) parts[order[k]!]! += 1;
}

/**
 * Splits `total` into integer parts proportional to `weights` (largest remainder; ties go to
 * the earlier part), so the parts always add up to exactly `total`. All weights zero: null.
 */
export function apportion(total: number, weights: readonly number[]): number[] | null {
  const n = weights.length;
  let sum = 0;
  let nonZero = 0;
  let only = -1;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (w > 0) {
      sum += w;
      nonZero++;
      only = i;
    }
  }
  if (sum <= 0) return null;
  const parts = new Array<number>(n).fill(0);
  if (nonZero === 1) {
    parts[only] = total;
    return parts;
  }
  // Zero weights get remainder -1 so they are never chosen; there are always fewer units left
  // over than parts with a weight.
  const remainders = new Array<number>(n).fill(-1);
  let given = 0;
  if (total * sum <= SAFE) {
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (w <= 0) continue;
      const exact = total * w;
      let q = Math.floor(exact / sum);
      if (q * sum > exact) q -= 1;
      else if ((q + 1) * sum <= exact) q += 1;
      parts[i] = q;
      remainders[i] = exact - q * sum;
      given += q;
    }
  } else {
    const t = BigInt(total);
    const s = BigInt(sum);
    for (let i = 0; i < n; i++) {
      if (weights[i]! <= 0) continue;
      const exact = t * BigInt(weights[i]!);
      const q = exact / s;
      parts[i] = Number(q);
      // Remainders are only compared; scale them into the safe range.
      remainders[i] = Number(((exact - q * s) * 1_000_000_000n) / s);
      given += parts[i]!;
    }
  }
  if (total > given) distribute(parts, remainders, total - given);
  return parts;
}

/** Minor units as a readable amount: 12345 USD (exponent 2) → "123.45 USD". */
export function formatMoney(minor: number, currency: { code: string; exponent: number }): string {
  if (currency.exponent === 0) return `${minor} ${currency.code}`;
  const scale = 10 ** currency.exponent;
  const whole = Math.floor(minor / scale);
  const fraction = String(minor - whole * scale).padStart(currency.exponent, '0');
  return `${whole}.${fraction} ${currency.code}`;
}
