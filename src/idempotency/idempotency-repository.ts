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
