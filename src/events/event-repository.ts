import type { Executor } from '../db/database.ts';

/** Writes a domain event into the transactional outbox, in the caller's transaction. */
export async function recordEvent(
  db: Executor,
  programId: string,
  type: string,
  memberId: string | null,
  payload: Record<string, unknown>,
): Promise<void> {
  await db.insertInto('events').values({ program_id: programId, type, member_id: memberId, payload: JSON.stringify(payload) }).execute();
}

export async function listEvents(db: Executor, programId: string, limit: number, afterId?: number, type?: string) {
  let q = db.selectFrom('events').selectAll().where('program_id', '=', programId);
  if (afterId !== undefined) q = q.where('id', '>', afterId);
  if (type) q = q.where('type', '=', type);
  return q.orderBy('id').limit(limit).execute();
}
