import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';
import type { ExpiryKind } from '../db/schema.ts';

export const PROGRAM_ACCOUNT_KINDS = ['issued', 'redeemed', 'expired', 'reversed', 'adjusted', 'transfers'] as const;

export async function insertProgram(
  db: Executor,
  values: { name: string; currency: string; currency_exponent: number; time_zone: string; reversal_policy?: 'allow_negative' | 'take_remaining'; settings?: Record<string, unknown> },
) {
  return db
    .insertInto('programs')
    .values({ ...values, settings: JSON.stringify(values.settings ?? {}) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findProgram(db: Executor, id: string) {
  return db.selectFrom('programs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateProgramRow(
  db: Executor,
  id: string,
  values: Partial<{ name: string; time_zone: string; reversal_policy: 'allow_negative' | 'take_remaining'; settings: Record<string, unknown> }>,
) {
  const { settings, ...rest } = values;
  return db
    .updateTable('programs')
    .set({ ...rest, ...(settings ? { settings: JSON.stringify(settings) } : {}), updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listPrograms(db: Executor) {
  return db.selectFrom('programs').selectAll().orderBy('created_at').execute();
}

export interface WalletValues {
  code: string;
  name: string;
  unit: 'points' | 'currency';
  expiry_kind: ExpiryKind;
  expiry_count: number;
  pending_days: number;
}

export async function insertWallet(db: Executor, programId: string, values: WalletValues) {
  const wallet = await db
    .insertInto('wallets')
    .values({ program_id: programId, ...values })
    .onConflict((oc) => oc.columns(['program_id', 'code']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!wallet) return undefined;
  await db
    .insertInto('accounts')
    .values(PROGRAM_ACCOUNT_KINDS.map((kind) => ({ program_id: programId, wallet_id: wallet.id, member_id: null, kind, balance: null })))
    .execute();
  return wallet;
}

/**
 * The program as every request's context needs it, with the instant of the request: the test
 * clock's when given, else the database's (one statement, one round trip).
 */
export interface ProgramAtNow {
  id: string; time_zone: string; reversal_policy: 'allow_negative' | 'take_remaining';
  currency: string; currency_exponent: number; settings: unknown; now: Date; has_ladder: boolean;
}

/** The program and the transaction's instant (`at`, else the database clock), as one row's query. */
export function programAtNowQuery(programId: string, at: Date | undefined) {
  return sql<ProgramAtNow>`select id, time_zone, reversal_policy, currency, currency_exponent, settings, coalesce(${at ?? null}::timestamptz, now()) as now,
            exists (select 1 from tier_ladders l where l.program_id = programs.id) as has_ladder
     from programs where id = ${programId}`;
}

/**
 * Rows of programAtNowQuery read by another statement of a transaction (an Idempotency-Key's
 * claim, which every keyed mutation sends before it opens its context), each for the
 * transaction's next programAtNow of that program: one round trip less per keyed request.
 * Taken once, so a later read in the transaction asks the database again.
 */
const readAhead = new WeakMap<Executor, Map<string, ProgramAtNow>>();

export function rememberProgramAtNow(db: Executor, row: ProgramAtNow) {
  if (!db.isTransaction) return;
  let perTx = readAhead.get(db);
  if (!perTx) readAhead.set(db, (perTx = new Map()));
  perTx.set(row.id, row);
}

export async function programAtNow(db: Executor, programId: string, at: Date | undefined): Promise<ProgramAtNow | undefined> {
  const ahead = readAhead.get(db)?.get(programId);
  if (ahead) {
    readAhead.get(db)!.delete(programId);
    // now() is the transaction's start, whichever statement asked: only a test clock differs.
    return at ? { ...ahead, now: at } : ahead;
  }
  const { rows } = await programAtNowQuery(programId, at).execute(db);
  return rows[0];
}

export async function findWalletByCode(db: Executor, programId: string, code: string) {
  return db.selectFrom('wallets').selectAll().where('program_id', '=', programId).where('code', '=', code).executeTakeFirst();
}

export async function findWalletById(db: Executor, programId: string, id: string) {
  return db.selectFrom('wallets').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

/** The default wallet (`points`, the one routes use when none is named) first, then by creation. */
export async function listWallets(db: Executor, programId: string) {
  return db
    .selectFrom('wallets')
    .selectAll()
    .where('program_id', '=', programId)
    .orderBy(sql`code = 'points'`, 'desc')
    .orderBy('created_at')
    .orderBy('code')
    .execute();
}

export async function updateWalletRow(db: Executor, programId: string, code: string, values: Partial<Omit<WalletValues, 'code' | 'unit'>>) {
  return db
    .updateTable('wallets')
    .set(values)
    .where('program_id', '=', programId)
    .where('code', '=', code)
    .returningAll()
    .executeTakeFirst();
}

export async function programAccountIds(db: Executor, walletId: string) {
  const rows = await db
    .selectFrom('accounts')
    .select(['id', 'kind'])
    .where('wallet_id', '=', walletId)
    .where('member_id', 'is', null)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.kind, r.id])) as Record<(typeof PROGRAM_ACCOUNT_KINDS)[number], number>;
}

export async function insertStore(
  db: Executor,
  programId: string,
  values: { code: string; name: string; kind: 'online' | 'pos' | 'marketplace' | 'app'; currency: string | null },
) {
  return db
    .insertInto('stores')
    .values({ program_id: programId, ...values })
    .onConflict((oc) => oc.columns(['program_id', 'code']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function listStores(db: Executor, programId: string) {
  return db.selectFrom('stores').selectAll().where('program_id', '=', programId).orderBy('created_at').orderBy('code').execute();
}

export async function findStore(db: Executor, programId: string, id: string) {
  return db.selectFrom('stores').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function updateStoreRow(db: Executor, programId: string, id: string, values: Partial<{ name: string; kind: 'online' | 'pos' | 'marketplace' | 'app'; currency: string | null }>) {
  return db.updateTable('stores').set(values).where('program_id', '=', programId).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function insertApiKey(db: Executor, programId: string, values: { name: string; prefix: string; key_hash: Buffer }) {
  return db.insertInto('api_keys').values({ program_id: programId, ...values }).returningAll().executeTakeFirstOrThrow();
}

export async function listApiKeys(db: Executor, programId: string) {
  return db.selectFrom('api_keys').selectAll().where('program_id', '=', programId).orderBy('created_at').execute();
}

export async function revokeApiKeyRow(db: Executor, programId: string, id: string) {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function findApiKey(db: Executor, programId: string, id: string) {
  return db.selectFrom('api_keys').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function findActiveKeyByHash(db: Executor, hash: Buffer) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'program_id', 'last_used_at'])
    .where('key_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function touchApiKey(db: Executor, id: string) {
  await db.updateTable('api_keys').set({ last_used_at: sql`now()` }).where('id', '=', id).execute();
}

export async function insertAuditEvent(
  db: Executor,
  values: { program_id: string; actor: string; action: string; subject_type: string; subject_id: string; details?: Record<string, unknown> },
) {
  await db.insertInto('audit_events').values({ ...values, details: JSON.stringify(values.details ?? {}) }).execute();
}

export async function listAuditEvents(db: Executor, programId: string, limit: number, afterId?: number) {
  let q = db.selectFrom('audit_events').selectAll().where('program_id', '=', programId);
  if (afterId !== undefined) q = q.where('id', '<', afterId);
  return q.orderBy('id', 'desc').limit(limit).execute();
}
