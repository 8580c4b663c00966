import { invariant } from '../http/error-codes.ts';
import * as ledger from '../ledger/ledger-operations.ts';
import type { LedgerContext, Reference } from '../ledger/ledger-operations.ts';
import * as awards from './award-repository.ts';

const DAY_MS = 86_400_000;

export interface ComponentTarget {
  memberId: string;
  memberActive: boolean;
  wallet: string;
  /** Stable name of what the points are for, e.g. "order:<id>:points:paid:14" or "progress:<rule>:<period>". */
  component: string;
  /** Points this component should hold in the ledger now (earned minus reversed). */
  desired: number;
  /** Pending until this instant (vested at once if null or past). */
  vestsAt: Date | null;
  orderId: string | null;
  actionId: string | null;
  reference: Reference;
  description: string;
  breakdown: unknown;
  /** The component was named in this transaction for a source created in it: it holds nothing yet. */
  isNew?: boolean;
}

export interface ComponentResult {
  component: string;
  wallet: string;
  earned: number;
  reversed: number;
  held: number;
  /** Points the member should have but cannot receive while blocked. */
  withheld: number;
}

export function vestingDate(basis: Date, days: number): Date | null {
  return days > 0 ? new Date(basis.getTime() + days * DAY_MS) : null;
}

/**
 * Moves the ledger to the desired amount of one award component: earns the difference, or
 * reverses the newest earns first. Because the target is an amount and not a delta, running it
 * again, or after events in another order, changes nothing: every delivery order converges.
 * A reversal never exceeds what the component earned, so refunds never take more than was given.
 */
export async function settleComponent(ctx: LedgerContext, t: ComponentTarget): Promise<ComponentResult> {
  invariant(Number.isSafeInteger(t.desired) && t.desired >= 0, `desired ${t.desired} is a non-negative integer`);
  const ops = t.isNew ? [] : await awards.componentOperations(ctx.trx, t.memberId, t.component);
  let held = ops.reduce((s, o) => s + o.amount - o.reversed, 0);
  const result: ComponentResult = { component: t.component, wallet: t.wallet, earned: 0, reversed: 0, held, withheld: 0 };
  if (t.desired > held) {
    if (!t.memberActive) {
      result.withheld = t.desired - held;
      return result;
    }
    const amount = t.desired - held;
    const earned = await ledger.earn(ctx, {
      memberId: t.memberId, wallet: t.wallet, amount, pendingUntil: t.vestsAt, reference: t.reference,
      description: t.description.slice(0, 500), metadata: { component: t.component, breakdown: t.breakdown },
    });
    await awards.insertAward(ctx.trx, {
      program_id: ctx.program.id, member_id: t.memberId, operation_id: earned.operation.id, component: t.component,
      order_id: t.orderId, action_id: t.actionId, breakdown: t.breakdown, created_at: ctx.now,
    });
    result.earned = amount;
    held += amount;
  } else if (t.desired < held) {
    let left = held - t.desired;
    for (const op of ops) {
      if (left === 0) break;
      const take = Math.min(op.amount - op.reversed, left);
      if (take <= 0) continue;
      await ledger.reverse(ctx, { operationId: op.operation_id, amount: take, reference: t.reference, description: `Refund or correction: ${t.description}`.slice(0, 500) });
      left -= take;
      result.reversed += take;
    }
    invariant(left === 0, `component ${t.component} had the points it holds`);
    held = t.desired;
  }
  result.held = held;
  return result;
}
