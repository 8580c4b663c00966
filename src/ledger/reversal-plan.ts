export type ReversalPolicy = 'allow_negative' | 'take_remaining';

export interface ReversalSituation {
  /** Points the reversal takes back (already checked against what is left to reverse). */
  requested: number;
  /** What is still in the earn's own lot, pending or vested. */
  lotRemaining: number;
  /** Points of the earn's lot that expired and that no earlier reversal has already counted. */
  expiredUncounted: number;
  /** The member's available points outside the earn's lot (0 when the balance is negative). */
  otherAvailable: number;
  policy: ReversalPolicy;
}

export interface ReversalPlan {
  /** Taken from the earn's own lot. */
  fromLot: number;
  /** Not taken: these points already left the member by expiry. */
  alreadyExpired: number;
  /** Taken from the member's other available points, soonest-expiring first. */
  fromOthers: number;
  /** Taken below zero (allow_negative): the member's balance goes negative by this much. */
  debt: number;
  /** Not taken (take_remaining): forgiven for good. */
  forgiven: number;
}

/**
 * How a reversal of `requested` points of an earn is covered, in order: the earn's own lot; then
 * the part of that lot that expired counts as already taken (charging it again would make the
 * member lose the points twice); then the member's other available points; the rest follows the
 * program's policy — a negative balance, or forgiven.
 */
export function planReversal(s: ReversalSituation): ReversalPlan {
  let left = s.requested;
  const fromLot = Math.min(left, Math.max(0, s.lotRemaining));
  left -= fromLot;
  const alreadyExpired = Math.min(left, Math.max(0, s.expiredUncounted));
  left -= alreadyExpired;
  const fromOthers = Math.min(left, Math.max(0, s.otherAvailable));
  left -= fromOthers;
  const debt = s.policy === 'allow_negative' ? left : 0;
  return { fromLot, alreadyExpired, fromOthers, debt, forgiven: left - debt };
}
