import { sql } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';

/**
 * Holds the key's advisory lock until the transaction ends. A concurrent duplicate waits at most
 * `waitMs` for the first request to finish (then replays its response) before giving up with
 * lock_not_available (55P03). The lock is nearly always free: one try first, and the timed
 * wait (three statements) only when another request holds it.
 */
export async function lockKey(trx: Tx, programId: string, key: string, waitMs: number): Promise<void> {
  const lockName = `${programId}:${key}`;
  const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtextextended(${lockName}, 0)) as locked`.execute(trx);
  if (rows[0]?.locked) return;
  await sql.raw(`set local lock_timeout = ${Math.max(1, Math.floor(waitMs))}`).execute(trx);
  await sql`select pg_advisory_xact_lock(hashtextextended(${lockName}, 0))`.execute(trx);
  await sql.raw('set local lock_timeout = 0').execute(trx);
}

export async function findKey(db: Executor, programId: string, key: string) {
  return db.selectFrom('idempotency_keys').selectAll().where('program_id', '=', programId).where('key', '=', key).executeTakeFirst();
}

/** Stores the response and returns the body as stored (jsonb orders keys its own way). */
export async function saveKey(trx: Tx, values: { program_id: string; key: string; request_hash: string; response_status: number; response_body: unknown }): Promise<unknown> {
  const row = await trx
    .insertInto('idempotency_keys')
    .values({ ...values, response_body: JSON.stringify(values.response_body) })
    .returning('response_body')
    .executeTakeFirstOrThrow();
  return row.response_body;
}

export async function deleteKeysBefore(db: Executor, before: Date) {
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---------------------------------------------------------------- many keys at once (group commit)

/**
 * Takes each key's advisory lock if it is free (the same lock as lockKey's) and returns the keys
 * it took. Never waits: a key held elsewhere is left to the caller (who sends that request down
 * the single path, where it waits its turn).
 */
export async function tryLockKeys(trx: Tx, programId: string, keys: string[]): Promise<Set<string>> {
  const { rows } = await sql<{ key: string }>`
    select k.key from unnest(${keys}::text[]) as k(key)
    where pg_try_advisory_xact_lock(hashtextextended(${programId}::text || ':' || k.key, 0))`.execute(trx);
  return new Set(rows.map((r) => r.key));
}

/** Read after tryLockKeys, in a statement of its own, so that it sees what a previous holder committed. */
export async function findKeys(db: Executor, programId: string, keys: string[]) {
  if (keys.length === 0) return new Map<string, { request_hash: string; response_status: number; response_body: unknown }>();
  const rows = await db.selectFrom('idempotency_keys').select(['key', 'request_hash', 'response_status', 'response_body'])
    .where('program_id', '=', programId).where(sql<boolean>`key = any(${keys}::text[])`).execute();
  return new Map(rows.map((r) => [r.key, r]));
}

/** Stores many responses in one statement; returns each body as stored, by key. */
export async function saveKeys(trx: Tx, programId: string, rows: { key: string; request_hash: string; response_status: number; response_body: unknown }[]) {
  if (rows.length === 0) return new Map<string, unknown>();
  const { rows: saved } = await sql<{ key: string; response_body: unknown }>`
    insert into idempotency_keys (program_id, key, request_hash, response_status, response_body)
    select ${programId}, r.key, r.request_hash, r.response_status, r.response_body
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(key text, request_hash text, response_status integer, response_body jsonb)
    returning key, response_body`.execute(trx);
  return new Map(saved.map((r) => [r.key, r.response_body]));
}
