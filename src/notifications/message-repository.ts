import { randomBytes } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Db, Executor, Tx } from '../db/database.ts';
import type { MessagesTable, MessageStatus } from '../db/schema.ts';

// ---------------------------------------------------------------- settings

export async function findSettingsRow(db: Executor, programId: string) {
  return db.selectFrom('lifecycle_settings').selectAll().where('program_id', '=', programId).executeTakeFirst();
}

export async function findSettingsRows(db: Executor, programIds: string[]) {
  if (programIds.length === 0) return [];
  return db.selectFrom('lifecycle_settings').selectAll().where('program_id', 'in', programIds).execute();
}

/** The program's settings row, created (with a fresh signing key) on first use, locked. */
export async function lockSettingsRow(trx: Tx, programId: string) {
  await trx
    .insertInto('lifecycle_settings')
    .values({ program_id: programId, settings: '{}', signing_key: randomBytes(32) })
    .onConflict((oc) => oc.column('program_id').doNothing())
    .execute();
  return trx.selectFrom('lifecycle_settings').selectAll().where('program_id', '=', programId).forUpdate().executeTakeFirstOrThrow();
}

export async function saveSettings(trx: Tx, programId: string, settings: Record<string, unknown>) {
  await trx
    .updateTable('lifecycle_settings')
    .set({ settings: JSON.stringify(settings), updated_at: sql<Date>`now()` })
    .where('program_id', '=', programId)
    .execute();
}

/** The key that signs a program's unsubscribe tokens (created on first use). */
export async function signingKeyOf(db: Executor, programId: string): Promise<Buffer> {
  const row = await findSettingsRow(db, programId);
  if (row) return row.signing_key;
  await db
    .insertInto('lifecycle_settings')
    .values({ program_id: programId, settings: '{}', signing_key: randomBytes(32) })
    .onConflict((oc) => oc.column('program_id').doNothing())
    .execute();
  return (await findSettingsRow(db, programId))!.signing_key;
}

// ---------------------------------------------------------------- templates

export async function listTemplateOverrides(db: Executor, programId: string) {
  return db.selectFrom('message_templates').selectAll().where('program_id', '=', programId).orderBy('kind').orderBy('locale').execute();
}

export async function findTemplateOverride(db: Executor, programId: string, kind: string, locale: string) {
  return db
    .selectFrom('message_templates')
    .selectAll()
    .where('program_id', '=', programId)
    .where('kind', '=', kind)
    .where(sql<boolean>`lower(locale) = lower(${locale})`)
    .executeTakeFirst();
}

export async function upsertTemplate(trx: Tx, values: { program_id: string; kind: string; locale: string; subject: string; body: string; updated_by: string }) {
  return trx
    .insertInto('message_templates')
    .values(values)
    .onConflict((oc) => oc.columns(['program_id', 'kind', 'locale']).doUpdateSet({
      subject: values.subject, body: values.body, updated_by: values.updated_by, updated_at: sql<Date>`now()`,
    }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteTemplate(trx: Tx, programId: string, kind: string, locale: string): Promise<boolean> {
  const result = await trx
    .deleteFrom('message_templates')
    .where('program_id', '=', programId)
    .where('kind', '=', kind)
    .where(sql<boolean>`lower(locale) = lower(${locale})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

// ---------------------------------------------------------------- messages

/** A message to send: its identity and the context its template renders; the rest is the sender's. */
export type NewMessage = Pick<Selectable<MessagesTable>, 'program_id' | 'member_id' | 'kind' | 'channel' | 'dedupe_key' | 'event_id'> & { context: Record<string, unknown> };

/** Inserts the messages whose dedupe key is new; returns how many were. */
export async function insertMessages(trx: Tx, rows: NewMessage[]): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await trx
    .insertInto('messages')
    .values(rows.map((r) => ({ ...r, context: JSON.stringify(r.context) })))
    .onConflict((oc) => oc.columns(['program_id', 'dedupe_key']).doNothing())
    .returning('id')
    .execute();
  return inserted.length;
}

/**
 * Leases due messages; the attempt is counted at claim time, so a worker crashing mid-send cannot
 * loop forever. Each comes with the database's `now`, the clock its times are judged by.
 */
export async function claimDueMessages(db: Db, limit: number, leaseMs: number) {
  const { rows } = await sql<ClaimedMessage>`
    with picked as (
      select id from messages
      where status = 'pending' and next_attempt_at <= now() and (locked_until is null or locked_until <= now())
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked
    )
    update messages m set locked_until = now() + ${leaseMs} * interval '1 millisecond', attempts = m.attempts + 1, updated_at = now()
    from picked where m.id = picked.id
    returning m.*, now() as now`.execute(db);
  return rows;
}

export async function findMessage(db: Executor, programId: string, id: string) {
  return db.selectFrom('messages').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export type MessageRow = NonNullable<Awaited<ReturnType<typeof findMessage>>>;
export type ClaimedMessage = MessageRow & { now: Date };

/** Updates a message we hold the lease of; false when the lease was lost or it is no longer pending. */
export async function updateLeasedMessage(
  db: Executor,
  message: Pick<MessageRow, 'id' | 'attempts'>,
  values: Partial<{
    status: MessageStatus; skip_reason: string | null; locale: string; recipient: string | null; subject: string; body_text: string; body_html: string;
    next_attempt_at: Date; last_error: string | null; provider_response: string | null; sent_at: Date | null; locked_until: Date | null;
    context: string;
  }>,
): Promise<boolean> {
  const result = await db
    .updateTable('messages')
    .set({ ...values, updated_at: sql<Date>`now()` })
    .where('id', '=', message.id)
    .where('attempts', '=', message.attempts)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function listMessages(
  db: Executor,
  programId: string,
  filter: { memberId?: string; kind?: string; status?: MessageStatus; channel?: 'email' | 'webhook'; before?: { createdAt: Date; id: string }; limit: number },
) {
  let q = db.selectFrom('messages').selectAll().where('program_id', '=', programId);
  if (filter.memberId) q = q.where('member_id', '=', filter.memberId);
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.channel) q = q.where('channel', '=', filter.channel);
  if (filter.before) q = q.where(sql<boolean>`(created_at, id) < (${filter.before.createdAt}, ${filter.before.id}::uuid)`);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

// ---------------------------------------------------------------- unsubscribes

export async function findUnsubscribe(db: Executor, programId: string, memberId: string) {
  return db.selectFrom('message_unsubscribes').selectAll().where('program_id', '=', programId).where('member_id', '=', memberId).executeTakeFirst();
}

export async function insertUnsubscribe(db: Executor, programId: string, memberId: string, source: 'link' | 'api') {
  await db
    .insertInto('message_unsubscribes')
    .values({ program_id: programId, member_id: memberId, source })
    .onConflict((oc) => oc.columns(['program_id', 'member_id']).doNothing())
    .execute();
}

export async function deleteUnsubscribe(db: Executor, programId: string, memberId: string) {
  await db.deleteFrom('message_unsubscribes').where('program_id', '=', programId).where('member_id', '=', memberId).execute();
}

// ---------------------------------------------------------------- member data for rendering

export async function walletBalance(db: Executor, programId: string, memberId: string, walletCode: string) {
  return db
    .selectFrom('wallets as w')
    .leftJoin('accounts as a', (join) => join.onRef('a.wallet_id', '=', 'w.id').on('a.member_id', '=', memberId).on('a.kind', '=', 'available'))
    .select(['w.code', 'w.name', 'w.unit', 'a.balance'])
    .where('w.program_id', '=', programId)
    .where('w.code', '=', walletCode)
    .executeTakeFirst();
}

/** Display names of tier codes, when the tiers module is installed. */
export async function tierNames(db: Executor, programId: string, codes: string[]): Promise<Map<string, string>> {
  if (codes.length === 0) return new Map();
  const { rows: exists } = await sql<{ ok: boolean }>`select to_regclass('tiers') is not null as ok`.execute(db);
  if (!exists[0]?.ok) return new Map();
  const { rows } = await sql<{ code: string; name: string }>`select code, name from tiers where program_id = ${programId} and code = any(${codes}::text[])`.execute(db);
  return new Map(rows.map((r) => [r.code, r.name]));
}
