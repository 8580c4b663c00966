import type { Tx } from '../db/database.ts';
import { awardSignUp } from '../actions/action-operations.ts';
import type { MemberRow } from '../members/member-repository.ts';
import { claimOrdersForMember } from './order-operations.ts';
import { openLedgerContext } from '../ledger/ledger-context.ts';

/**
 * What joining sets off, in the transaction that creates the member: the shopper's earlier
 * orders inside the claim window earn as if they had been a member, and the sign-up bonus (if
 * the program has a "sign_up" action rule). Vesting and claim decisions use the database clock.
 */
export async function onMemberCreated(trx: Tx, programId: string, member: MemberRow, now?: Date) {
  const ctx = await openLedgerContext(trx, programId, 'system', now ? () => now : undefined);
  const claimed = await claimOrdersForMember(ctx, member);
  const signUp = await awardSignUp(ctx, member);
  return { claimed, signUp };
}
