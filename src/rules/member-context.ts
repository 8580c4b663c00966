import type { Executor } from '../db/database.ts';
import { ProblemError } from '../http/error-codes.ts';
import { findMemberRow, type MemberRow } from '../members/member-repository.ts';
import { currentTier } from '../tiers/tier-operations.ts';
import type { MemberContext } from './conditions.ts';

/**
 * What the rules may know about a member, read for an evaluation: profile fields and the tier
 * in force at `now` (the caller's clock, so evaluation follows the same time as the ledger).
 */
export async function loadMemberContext(db: Executor, programId: string, memberId: string, now?: Date, known?: MemberRow): Promise<MemberContext> {
  const member = known?.id === memberId ? known : await findMemberRow(db, programId, memberId);
  if (!member) throw new ProblemError('member_not_found', `no member ${memberId} in this program`);
  return memberContextOf(member, await currentTier(db, programId, memberId, now));
}

/** The member context from a member row and their tier in force (null: none, or no ladder). */
export function memberContextOf(member: MemberRow, tier: { code: string; earnMultiplierBp: number } | null): MemberContext {
  return {
    tierCode: tier?.code ?? null,
    tierMultiplierBp: tier?.earnMultiplierBp ?? 10_000,
    tags: member.tags,
    attributes: member.attributes,
    birthday: member.birthday,
    locale: member.locale,
  };
}
