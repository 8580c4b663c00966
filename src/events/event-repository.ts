import { sql } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';

export interface OutboxEvent {
  programId: string;
  type: string;
  memberId: string | null;
  payload: Record<string, unknown>;
}

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

export interface EventRow {
  id: number;
  program_id: string;
  type: string;
  member_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

/** The stable envelope of every event, in the API and in webhook bodies. */
export function envelopeOf(row: EventRow) {
  return {
    id: eventPublicId(row.id),
    type: row.type,
    programId: row.program_id,
    memberId: row.member_id,
    occurredAt: row.created_at.toISOString(),
    data: row.payload,
  };
}

export type EventEnvelope = ReturnType<typeof envelopeOf>;

export function eventPublicId(id: number): string {
  return `evt_${id}`;
}

/** The numeric id of "evt_123", or undefined when it is not one. */
export function parseEventId(publicId: string): number | undefined {
  const match = /^evt_([1-9][0-9]{0,15})$/.exec(publicId);
  const id = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(id) ? id : undefined;
}

const eventColumns = ['id', 'program_id', 'type', 'member_id', 'payload', 'created_at'] as const;

export async function listEvents(db: Executor, programId: string, limit: number, afterId?: number, type?: string, memberId?: string): Promise<EventRow[]> {
  let q = db.selectFrom('events').select(eventColumns).where('program_id', '=', programId);
  if (afterId !== undefined) q = q.where('id', '>', afterId);
  if (type) q = q.where('type', '=', type);
  if (memberId) q = q.where('member_id', '=', memberId);
  return q.orderBy('id').limit(limit).execute();
}

export async function findEvent(db: Executor, programId: string, id: number): Promise<EventRow | undefined> {
  return db.selectFrom('events').select(eventColumns).where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function findEventsByIds(db: Executor, ids: number[]): Promise<EventRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('events').select(eventColumns).where('id', 'in', ids).execute();
}

/**
 * The next undispatched events, oldest first. Only one dispatcher runs at a time (the caller holds
 * the outbox lock), so the order in which events are dispatched is one total order.
 */
export async function undispatchedEvents(trx: Tx, limit: number): Promise<EventRow[]> {
  return trx.selectFrom('events').select(eventColumns).where('dispatched_at', 'is', null).orderBy('id').limit(limit).execute();
}

export async function markDispatched(trx: Tx, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await trx.updateTable('events').set({ dispatched_at: sql<Date>`now()` }).where('id', 'in', ids).execute();
}

/** Serialises outbox dispatch across workers: waits for the dispatcher ahead, until the transaction ends. */
export async function lockOutbox(trx: Tx): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('laurel_outbox_dispatch'))`.execute(trx);
}

/** Runs `work` under a savepoint: if it throws, only its own writes are rolled back (and the error returned). */
export async function underSavepoint(trx: Tx, work: () => Promise<void>): Promise<unknown> {
  await sql`savepoint outbox_hook`.execute(trx);
  try {
    await work();
    await sql`release savepoint outbox_hook`.execute(trx);
    return null;
  } catch (error) {
    await sql`rollback to savepoint outbox_hook`.execute(trx);
    return error ?? new Error('hook failed');
  }
}

/** Wakes the worker(s): the payload names what to look at ("outbox", "deliveries", "messages"). */
export async function notifyWorker(db: Executor, what: 'outbox' | 'deliveries' | 'messages'): Promise<void> {
  await sql`select pg_notify('laurel_worker', ${what})`.execute(db);
}
