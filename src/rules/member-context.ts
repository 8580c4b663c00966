import type { Executor } from '../db/database.ts';
import { ProblemError } from '../http/error-codes.ts';
import { findMemberRow } from '../members/member-repository.ts';
import type { MemberContext } from './conditions.ts';

/**
 * What the rules may know about a member, read for an evaluation. The tier is the tiers
 * module's to supply: until it extends this loader, `tierCode` is null and tier conditions do
 * not match (a rule for "gold" never applies to a member whose tier is unknown).
 */
export async function loadMemberContext(db: Executor, programId: string, memberId: string): Promise<MemberContext> {
  const member = await findMemberRow(db, programId, memberId);
  if (!member) throw new ProblemError('member_not_found', `no member ${memberId} in this program`);
  return {
    tierCode: null,
    tags: member.tags,
    attributes: member.attributes,
    birthday: member.birthday,
    locale: member.locale,
  };
}
