import { sql } from 'kysely';
import { executeWithCommit, type Executor, type Tx } from '../db/database.ts';
import { invariant } from '../http/error-codes.ts';
import { rememberLockedWallets, type LockedWalletRow } from '../ledger/ledger-repository.ts';
import { programAtNowQuery, rememberProgramAtNow, type ProgramAtNow } from '../programs/program-repository.ts';

export interface StoredAnswer { request_hash: string; response_status: number; response_body: unknown }

/**
 * Takes each key's advisory lock if it is free and reads, after the locks, the answers stored
 * under the keys it took (laurel_claim_keys, migration 0009): one statement. Never waits; the
 * result has an entry for each key taken (null when nothing is stored under it), none for a key
 * another transaction holds.
 *
 * With `wallets` (an earn batch), the same statement then locks those member wallets and reads
 * them, when it took any key (laurel_claim_keys_locking_wallets, migration 0016), for the
 * transaction's next lockMemberWalletsByCode (rememberLockedWallets): its due flags are read at
 * `at`, the instant the request's context will have (the test clock's, else the transaction's).
 */
export async function claimKeys(
  trx: Tx, programId: string, keys: string[], wallets?: { pairs: { memberId: string; walletCode: string }[]; at: Date | undefined },
): Promise<Map<string, StoredAnswer | null>> {
  const locking = wallets !== undefined && wallets.pairs.length > 0;
  // The program as the request's context will read it, in the same statement (see
  // rememberProgramAtNow): its columns ride on every row, each parsed as its own column.
  const claimed = locking
    ? sql`laurel_claim_keys_locking_wallets(${programId}::uuid, ${keys}::text[], ${wallets.pairs.map((p) => p.memberId)}::uuid[],
        ${wallets.pairs.map((p) => p.walletCode)}::text[], coalesce(${wallets.at ?? null}::timestamptz, now()))`
    : sql`laurel_claim_keys(${programId}::uuid, ${keys}::text[])`;
  const { rows } = await sql<ClaimRow & Partial<LockedWalletRow> & { kind?: 'key' | 'wallet' } & ProgramColumns>`
    select c.*,
      q.id as program_id_, q.time_zone as program_time_zone, q.reversal_policy as program_reversal_policy, q.currency as program_currency,
      q.currency_exponent as program_currency_exponent, q.settings as program_settings, q.now as program_now, q.has_ladder as program_has_ladder
    from ${claimed} c
    left join (${programAtNowQuery(programId, undefined)}) q on true`.execute(trx);
  const p = rows[0];
  if (p?.program_id_) {
    invariant(p.program_id_ === programId, 'a claim reads the program of its keys');
    rememberProgramAtNow(trx, {
      id: p.program_id_, time_zone: p.program_time_zone, reversal_policy: p.program_reversal_policy, currency: p.program_currency,
      currency_exponent: p.program_currency_exponent, settings: p.program_settings, now: p.program_now, has_ladder: p.program_has_ladder,
    });
    if (locking) rememberLockedWallets(trx, programId, wallets.pairs, wallets.at ?? p.program_now, rows.filter((r) => r.kind === 'wallet') as LockedWalletRow[]);
  }
  const claims = locking ? rows.filter((r) => r.kind === 'key') : rows;
  return new Map(claims.map((r) => [r.key!, r.request_hash === null ? null : { request_hash: r.request_hash!, response_status: r.response_status!, response_body: r.response_body }]));
}

interface ClaimRow { key: string | null; request_hash: string | null; response_status: number | null; response_body: unknown }

type ProgramColumns = { [K in keyof ProgramAtNow as K extends 'id' ? 'program_id_' : `program_${K}`]: ProgramAtNow[K] };

/**
 * The key's lock and stored answer. The lock is nearly always free, so it is claimed first (one
 * statement with the read); only when another request holds it does a concurrent duplicate wait,
 * at most `waitMs`, for the first to finish (then replays its response) before giving up with
 * lock_not_available (55P03): three statements for the timed wait and one for the read.
 */
export async function lockKey(trx: Tx, programId: string, key: string, waitMs: number): Promise<StoredAnswer | undefined> {
  const claimed = await claimKeys(trx, programId, [key]);
  if (claimed.has(key)) return claimed.get(key) ?? undefined;
  await sql.raw(`set local lock_timeout = ${Math.max(1, Math.floor(waitMs))}`).execute(trx);
  await sql`select pg_advisory_xact_lock(hashtextextended(${`${programId}:${key}`}, 0))`.execute(trx);
  await sql.raw('set local lock_timeout = 0').execute(trx);
  return findKey(trx, programId, key);
}

export async function findKey(db: Executor, programId: string, key: string) {
  return db.selectFrom('idempotency_keys').selectAll().where('program_id', '=', programId).where('key', '=', key).executeTakeFirst();
}

/**
 * Stores the response and commits, in one round trip (the transaction's last statement); returns
 * the body as stored (jsonb orders keys its own way).
 */
export async function saveKeyAndCommit(trx: Tx, values: { program_id: string; key: string; request_hash: string; response_status: number; response_body: unknown }): Promise<unknown> {
  const insert = trx
    .insertInto('idempotency_keys')
    .values({ ...values, response_body: JSON.stringify(values.response_body) })
    .returning('response_body');
  const { rows } = await executeWithCommit(trx, insert.compile());
  invariant(rows.length === 1, 'a fresh key stores one answer');
  return rows[0]!.response_body;
}

export async function deleteKeysBefore(db: Executor, before: Date) {
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---------------------------------------------------------------- many keys at once (group commit)

/** Stores many responses in one statement and commits, in one round trip (the transaction's last statement); returns each body as stored, by key. */
export async function saveKeysAndCommit(trx: Tx, programId: string, rows: { key: string; request_hash: string; response_status: number; response_body: unknown }[]) {
  if (rows.length === 0) return new Map<string, unknown>();
  const { rows: saved } = await executeWithCommit(trx, sql<{ key: string; response_body: unknown }>`
    insert into idempotency_keys (program_id, key, request_hash, response_status, response_body)
    select ${programId}, r.key, r.request_hash, r.response_status, r.response_body
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(key text, request_hash text, response_status integer, response_body jsonb)
    returning key, response_body`.compile(trx));
  invariant(saved.length === rows.length, 'each fresh key stores one answer');
  return new Map(saved.map((r) => [r.key, r.response_body]));
}
