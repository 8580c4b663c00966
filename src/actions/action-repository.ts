import { sql } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';

export async function insertAction(
  trx: Tx,
  values: {
    program_id: string; member_id: string; type: string; quantity: number; occurred_at: Date; reference_type: string | null;
    reference_id: string | null; attributes: Record<string, unknown>; created_at: Date;
  },
) {
  return trx
    .insertInto('member_actions')
    .values({ ...values, attributes: JSON.stringify(values.attributes) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function setActionResult(trx: Tx, id: string, points: Record<string, number>, evaluation: unknown) {
  return trx
    .updateTable('member_actions')
    .set({ points: JSON.stringify(points), evaluation: JSON.stringify(evaluation) })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findAction(db: Executor, programId: string, id: string) {
  return db.selectFrom('member_actions').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function findActionByReference(db: Executor, memberId: string, type: string, reference: { type: string; id: string }) {
  return db
    .selectFrom('member_actions')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('type', '=', type)
    .where('reference_type', '=', reference.type)
    .where('reference_id', '=', reference.id)
    .executeTakeFirst();
}

export async function actionsOfMember(db: Executor, memberId: string, filter: { type?: string; before?: { createdAt: Date; id: string }; limit: number }) {
  let q = db.selectFrom('member_actions').selectAll().where('member_id', '=', memberId);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.before) {
    const { createdAt, id } = filter.before;
    q = q.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
  }
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

/** Programs that ever had a rule for this action type (the caller checks which are in force). */
export async function programsWithActionRule(db: Executor, actionType: string) {
  const rows = await db
    .selectFrom('earning_rule_versions')
    .select('program_id')
    .distinct()
    .where(sql<boolean>`config->>'action' = ${actionType}`)
    .execute();
  return rows.map((r) => r.program_id);
}

/**
 * Active members whose birthday is this local calendar day; those born on 29 February celebrate
 * on the 28th in other years. Keyset-paginated by id.
 */
export async function membersWithBirthday(db: Executor, programId: string, day: { month: number; day: number; leapYear: boolean }, afterId: string | null, limit: number) {
  let q = db
    .selectFrom('members')
    .select(['id'])
    .where('program_id', '=', programId)
    .where('status', '=', 'active')
    .where('birthday', 'is not', null);
  const feb28 = day.month === 2 && day.day === 28 && !day.leapYear;
  q = feb28
    ? q.where(sql<boolean>`extract(month from birthday) = 2 and extract(day from birthday) in (28, 29)`)
    : q.where(sql<boolean>`extract(month from birthday) = ${day.month} and extract(day from birthday) = ${day.day}`);
  if (afterId) q = q.where('id', '>', afterId);
  return q.orderBy('id').limit(limit).execute();
}
