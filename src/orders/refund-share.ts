import type { Attribution } from '../rules/evaluate-order.ts';

/** An exact non-negative fraction: refund shares must never round points into existence. */
export interface Fraction {
  n: bigint;
  d: bigint;
}

const ONE: Fraction = { n: 1n, d: 1n };
const ZERO: Fraction = { n: 0n, d: 1n };

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

function reduce(f: Fraction): Fraction {
  if (f.n === 0n) return ZERO;
  const g = gcd(f.n, f.d);
  return g === 1n ? f : { n: f.n / g, d: f.d / g };
}

export const frac = (n: number | bigint, d: number | bigint = 1): Fraction => reduce({ n: BigInt(n), d: BigInt(d) });
export const add = (a: Fraction, b: Fraction): Fraction => reduce({ n: a.n * b.d + b.n * a.d, d: a.d * b.d });
export const mul = (a: Fraction, b: Fraction): Fraction => reduce({ n: a.n * b.n, d: a.d * b.d });
export const floorOf = (f: Fraction): number => Number(f.n / f.d);
export const isZero = (f: Fraction) => f.n === 0n;
export const isOne = (f: Fraction) => f.n === f.d;

export interface ShareLine {
  id: string;
  quantity: number;
  /** What the line cost in money (after discounts, without the part paid with points). */
  moneyMinor: number;
}

export interface RefundInput {
  /** Refunded units per line id (all refund events together; clamped to the line quantity). */
  quantities: Record<string, number>;
  /** Money refunded without naming lines (goodwill, price adjustment), all refund events together. */
  amountMinor: number;
  /** A refund of everything, or a cancellation. */
  full: boolean;
}

/** What is left of an order after its refunds: a factor per line and one for the order as a whole. */
export interface Shares {
  line: Map<string, Fraction>;
  order: Fraction;
  /** Merchandise money refunded (line refunds by quantity, rounded down, plus amount refunds). */
  refundedMinor: number;
  merchandiseMinor: number;
  fully: boolean;
  none: boolean;
}

/**
 * Refunds as shares of the order. Line refunds take their lines' share; a refund by amount takes
 * the same fraction of every remaining line. The result depends only on the totals, never on the
 * order the refunds arrived in.
 */
export function refundShares(lines: readonly ShareLine[], refund: RefundInput): Shares {
  const merchandise = lines.reduce((s, l) => s + l.moneyMinor, 0);
  const qty = (l: ShareLine) => Math.min(l.quantity, Math.max(0, refund.quantities[l.id] ?? 0));
  const anyRefund = refund.full || refund.amountMinor > 0 || lines.some((l) => qty(l) > 0);
  if (!anyRefund) {
    return { line: new Map(lines.map((l) => [l.id, ONE])), order: ONE, refundedMinor: 0, merchandiseMinor: merchandise, fully: false, none: true };
  }
  const unitsLeft = lines.reduce((s, l) => s + l.quantity - qty(l), 0);
  const unitsTotal = lines.reduce((s, l) => s + l.quantity, 0);
  // Remaining money after line refunds (exact).
  let remaining = ZERO;
  for (const l of lines) remaining = add(remaining, frac(BigInt(l.moneyMinor) * BigInt(l.quantity - qty(l)), l.quantity));
  const amount = frac(refund.amountMinor);
  const afterAmount = remaining.n * amount.d > amount.n * remaining.d ? add(remaining, { n: -amount.n, d: amount.d }) : ZERO;
  const fully = refund.full || unitsLeft === 0 || (merchandise > 0 && isZero(afterAmount));
  if (fully) {
    return { line: new Map(lines.map((l) => [l.id, ZERO])), order: ZERO, refundedMinor: merchandise, merchandiseMinor: merchandise, fully: true, none: false };
  }
  const amountFactor = refund.amountMinor === 0 || merchandise === 0 ? ONE : isZero(remaining) ? ZERO : mul(afterAmount, { n: remaining.d, d: remaining.n });
  const line = new Map(lines.map((l) => [l.id, mul(frac(l.quantity - qty(l), l.quantity), amountFactor)]));
  const order = merchandise === 0 ? frac(unitsLeft, unitsTotal) : mul(afterAmount, frac(1, merchandise));
  let refundedByLines = 0;
  for (const l of lines) refundedByLines += Number((BigInt(l.moneyMinor) * BigInt(qty(l))) / BigInt(l.quantity));
  const refundedMinor = Math.min(merchandise, refundedByLines + (merchandise === 0 ? 0 : refund.amountMinor));
  return { line, order, refundedMinor, merchandiseMinor: merchandise, fully: false, none: false };
}

/**
 * What remains of an attributed award after refunds, rounded down: refunds never create points.
 * `lineIds` names the lines the attribution's entries belong to.
 */
export function remainingOf(attribution: Attribution, lineIds: readonly string[], shares: Shares): number {
  if (shares.none) return attribution.order + attribution.lines.reduce((s, p) => s + p, 0);
  let total = mul(frac(attribution.order), shares.order);
  attribution.lines.forEach((points, i) => {
    if (points > 0) total = add(total, mul(frac(points), shares.line.get(lineIds[i]!) ?? ONE));
  });
  return floorOf(total);
}

/** An attribution's per-line points by line id, without the zeros. */
export function pointsByLine(attribution: Attribution, lineIds: readonly string[]): { lineId: string; points: number }[] {
  return attribution.lines.flatMap((points, i) => (points > 0 ? [{ lineId: lineIds[i]!, points }] : []));
}

/** The part of an amount that refunds give back (points paid with), rounded down. */
export function refundedPartOf(amount: number, shares: Shares): number {
  if (shares.fully) return amount;
  if (shares.none) return 0;
  const left = mul(frac(amount), shares.order);
  // amount − ceil(left) would round in the member's favour; amount − left, rounded down, does not.
  return floorOf(add(frac(amount), { n: -left.n, d: left.d }));
}
