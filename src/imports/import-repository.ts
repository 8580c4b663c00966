import { sql } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';
import { restoreForeignKeyChecks, skipForeignKeyChecks } from '../db/foreign-key-repository.ts';
import { openingBalanceOperationId, type MemberImportRow } from './member-rows.ts';

/**
 * Set-based SQL of the member import. Each chunk of rows is staged in temporary tables (one
 * INSERT … SELECT FROM unnest per table) and applied with a handful of statements whatever the
 * chunk's size; nothing here loops over rows.
 */

export const OPENING_BALANCE_REFERENCE = 'import';
export const ADJUSTMENT_REFERENCE = 'adjustment_import';

/** Serialises runs of one batch key, so two uploads of the same file cannot both apply it. */
export async function lockBatchKey(trx: Tx, programId: string, kind: string, batchKey: string) {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`import:${programId}:${kind}:${batchKey}`}, 0))`.execute(trx);
}

export async function findCompletedBatch(db: Executor, programId: string, kind: 'members' | 'adjustments', batchKey: string, contentHash: string) {
  return db
    .selectFrom('import_batches')
    .selectAll()
    .where('program_id', '=', programId)
    .where('kind', '=', kind)
    .where('batch_key', '=', batchKey)
    .where('content_hash', '=', contentHash)
    .where('status', '=', 'completed')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

export async function insertBatch(
  db: Executor,
  values: {
    id: string; program_id: string; kind: 'members' | 'adjustments'; batch_key: string; content_hash: string; format: 'csv' | 'ndjson';
    status: 'completed' | 'rejected' | 'dry_run'; on_invalid: 'reject' | 'skip'; rows_total: number; rows_invalid: number;
    report: Record<string, unknown>; actor: string; created_at: Date;
  },
) {
  return db.insertInto('import_batches').values({ ...values, report: JSON.stringify(values.report) }).returningAll().executeTakeFirstOrThrow();
}

export async function findBatch(db: Executor, programId: string, id: string) {
  return db.selectFrom('import_batches').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function listBatches(db: Executor, programId: string, limit: number, before?: { createdAt: Date; id: string }) {
  let q = db.selectFrom('import_batches').selectAll().where('program_id', '=', programId);
  if (before) q = q.where(sql<boolean>`(created_at, id) < (${before.createdAt}, ${before.id}::uuid)`);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

export async function importWallets(db: Executor, programId: string) {
  return db.selectFrom('wallets').select(['id', 'code', 'expiry_kind', 'expiry_count']).where('program_id', '=', programId).execute();
}

/** wallet id → its program-side "issued" account, the debit side of every opening balance. */
export async function issuedAccounts(db: Executor, programId: string): Promise<Map<string, number>> {
  const rows = await db.selectFrom('accounts').select(['id', 'wallet_id']).where('program_id', '=', programId).where('member_id', 'is', null).where('kind', '=', 'issued').execute();
  return new Map(rows.map((r) => [r.wallet_id, r.id]));
}

// ---------------------------------------------------------------- members
//
// Plans stay linear whatever the planner believes: within one long import transaction the
// tables grow far beyond their statistics, so every lookup into a big table is a correlated
// subquery on a unique index (executed per staged row, never turned into a scan of the
// program's members), ids are drawn up front (sequences, derived operation ids) so no
// statement joins two freshly written sets, and the remaining joins are on primary keys.

export async function createStaging(trx: Tx) {
  await sql`
    create temp table laurel_import_members (
      line integer not null, customer_id text not null, email text, phone text, first_name text, last_name text,
      birthday date, locale text, marketing_consent boolean, tags text[], attributes jsonb, enrolled_at timestamptz,
      member_id uuid, member_status text
    ) on commit drop`.execute(trx);
  await sql`
    create temp table laurel_import_balances (
      line integer not null, customer_id text not null, wallet_id uuid not null, amount bigint not null, expires_at timestamptz,
      member_id uuid, mw_id bigint, available_account_id bigint, issued_account_id bigint,
      fresh boolean not null default false, op_id uuid, lot_id bigint, settled bigint
    ) on commit drop`.execute(trx);
}

export async function stageMembers(trx: Tx, programId: string, batchKey: string, issuedAccountIds: Map<string, number>, rows: MemberImportRow[]) {
  await sql`truncate laurel_import_members, laurel_import_balances`.execute(trx);
  if (rows.length === 0) return;
  const col = <T>(pick: (r: MemberImportRow) => T) => rows.map(pick);
  // Tags travel as one text per row (unnest cannot take a ragged 2-D array); the unit separator
  // cannot occur in a tag, validation refuses control characters. Member ids are resolved here,
  // one unique-index probe per row.
  await sql`
    insert into laurel_import_members
    select s.line, s.customer_id, email, phone, first_name, last_name, birthday, locale, marketing_consent,
           case when tags is null then null else string_to_array(tags, chr(31)) end, attributes, enrolled_at,
           (select m.id from members m where m.program_id = ${programId} and m.customer_id = s.customer_id),
           (select m.status from members m where m.program_id = ${programId} and m.customer_id = s.customer_id)
    from unnest(
      ${col((r) => r.line)}::int[], ${col((r) => r.customerId)}::text[], ${col((r) => r.email)}::text[], ${col((r) => r.phone)}::text[],
      ${col((r) => r.firstName)}::text[], ${col((r) => r.lastName)}::text[], ${col((r) => r.birthday)}::date[], ${col((r) => r.locale)}::text[],
      ${col((r) => r.marketingConsent)}::boolean[], ${col((r) => (r.tags ? r.tags.join('\u001f') : null))}::text[],
      ${col((r) => (r.attributes ? JSON.stringify(r.attributes) : null))}::jsonb[], ${col((r) => r.enrolledAt)}::timestamptz[]
    ) as s(line, customer_id, email, phone, first_name, last_name, birthday, locale, marketing_consent, tags, attributes, enrolled_at)`.execute(trx);
  const balances = rows.flatMap((r) => r.balances.map((b) => ({ line: r.line, customerId: r.customerId, ...b })));
  if (balances.length === 0) return;
  await sql`
    insert into laurel_import_balances (line, customer_id, wallet_id, amount, expires_at, op_id, issued_account_id)
    select * from unnest(
      ${balances.map((b) => b.line)}::int[], ${balances.map((b) => b.customerId)}::text[], ${balances.map((b) => b.walletId)}::uuid[],
      ${balances.map((b) => b.amount)}::bigint[], ${balances.map((b) => b.expiresAt)}::timestamptz[],
      ${balances.map((b) => openingBalanceOperationId(programId, batchKey, b.walletId, b.customerId))}::uuid[],
      ${balances.map((b) => issuedAccountIds.get(b.walletId))}::bigint[]
    )`.execute(trx);
}

/**
 * Rows the database refuses: an email or phone that another member holds, or an opening balance
 * for a blocked member (a blocked member can neither earn nor spend).
 */
export async function stagedConflicts(trx: Tx, programId: string) {
  const { rows } = await sql<{ line: number; field: string; code: string }>`
    select line, field, code from (
      select s.line, 'email' as field, 'member_conflict' as code,
             (select m.customer_id is distinct from s.customer_id from members m
               where m.program_id = ${programId} and m.email is not null and m.email_normalized = lower(s.email)) as refused
      from laurel_import_members s where s.email is not null
      union all
      select s.line, 'phone', 'member_conflict',
             (select m.customer_id is distinct from s.customer_id from members m where m.program_id = ${programId} and m.phone = s.phone)
      from laurel_import_members s where s.phone is not null
      union all
      select s.line, 'customer_id', 'member_blocked', s.member_status = 'blocked' and exists (select 1 from laurel_import_balances b where b.line = s.line)
      from laurel_import_members s where s.member_status is not null
    ) c where refused`.execute(trx);
  return rows;
}

export async function unstageLines(trx: Tx, lines: number[]) {
  if (lines.length === 0) return;
  await sql`delete from laurel_import_members where line = any(${lines}::int[])`.execute(trx);
  await sql`delete from laurel_import_balances where line = any(${lines}::int[])`.execute(trx);
}

/**
 * New customer ids become members (enrolment source "import"); existing ones get the fields the
 * file gives (an empty field leaves the stored value). A customer id created concurrently by the
 * API is skipped by the insert and updated instead; lines left without a member (a concurrent
 * member took the email or phone meanwhile) are returned.
 */
export async function upsertStagedMembers(trx: Tx, programId: string, now: Date): Promise<{ created: number; updated: number; unresolved: number[] }> {
  const inserted = await sql<{ n: number }>`
    with ins as (
      insert into members (program_id, customer_id, email, phone, first_name, last_name, birthday, locale, marketing_consent,
                           tags, attributes, enrollment_source, enrolled_at, created_at, updated_at)
      select ${programId}, s.customer_id, s.email, s.phone, s.first_name, s.last_name, s.birthday, s.locale, coalesce(s.marketing_consent, false),
             coalesce(s.tags, '{}'), coalesce(s.attributes, '{}'), 'import', coalesce(s.enrolled_at, ${now}), ${now}, ${now}
      from laurel_import_members s
      where s.member_id is null
      order by s.line
      on conflict do nothing
      returning 1
    ) select count(*)::int as n from ins`.execute(trx);
  let updated = 0;
  const { rows: existing } = await sql<{ n: number }>`select count(*)::int as n from laurel_import_members where member_id is not null`.execute(trx);
  if (existing[0]!.n > 0) {
    const result = await sql<{ n: number }>`
      with upd as (
        update members m set
          email = coalesce(s.email, m.email), phone = coalesce(s.phone, m.phone),
          first_name = coalesce(s.first_name, m.first_name), last_name = coalesce(s.last_name, m.last_name),
          birthday = coalesce(s.birthday, m.birthday), locale = coalesce(s.locale, m.locale),
          marketing_consent = coalesce(s.marketing_consent, m.marketing_consent), tags = coalesce(s.tags, m.tags),
          attributes = m.attributes || coalesce(s.attributes, '{}'), enrolled_at = coalesce(s.enrolled_at, m.enrolled_at),
          updated_at = ${now}
        from laurel_import_members s
        where s.member_id is not null and m.id = s.member_id
          and (m.email, m.phone, m.first_name, m.last_name, m.birthday, m.locale, m.marketing_consent, m.tags, m.attributes, m.enrolled_at)
              is distinct from
              (coalesce(s.email, m.email), coalesce(s.phone, m.phone), coalesce(s.first_name, m.first_name), coalesce(s.last_name, m.last_name),
               coalesce(s.birthday, m.birthday), coalesce(s.locale, m.locale), coalesce(s.marketing_consent, m.marketing_consent),
               coalesce(s.tags, m.tags), m.attributes || coalesce(s.attributes, '{}'), coalesce(s.enrolled_at, m.enrolled_at))
        returning 1
      ) select count(*)::int as n from upd`.execute(trx);
    updated = result.rows[0]!.n;
  }
  // The members just created (and any created concurrently): resolve their ids.
  const { rows: unresolved } = await sql<{ line: number }>`
    with resolved as (
      update laurel_import_members s set member_id = (select m.id from members m where m.program_id = ${programId} and m.customer_id = s.customer_id)
      where s.member_id is null
      returning s.line, s.member_id
    ) select line from resolved where member_id is null`.execute(trx);
  return { created: inserted.rows[0]!.n, updated, unresolved: unresolved.map((r) => r.line) };
}

// The identity sequences, looked up once per statement (an InitPlan): pg_get_serial_sequence
// called per row parses and resolves the table name every time — a third of a chunk's time.
const ACCOUNT_IDS = sql`(select pg_get_serial_sequence('accounts', 'id')::regclass)`;
const LOT_IDS = sql`(select pg_get_serial_sequence('lots', 'id')::regclass)`;
const MEMBER_WALLET_IDS = sql`(select pg_get_serial_sequence('member_wallets', 'id')::regclass)`;

const RESOLVE_MEMBER_WALLETS = (programId: string) => sql`
  update laurel_import_balances b set (mw_id, available_account_id) = (
    select mw.id, mw.available_account_id from member_wallets mw where mw.member_id = b.member_id and mw.wallet_id = b.wallet_id and mw.program_id = ${programId})
  where b.mw_id is null`;

/**
 * Gives every staged balance its member and member wallet. A (member, wallet) without one gets
 * its three accounts and member_wallets row here, already holding the opening balance (its
 * entry follows in the same transaction): no second write of the same rows. Their ids are drawn
 * up front, so the staged rows know them without a lookup. Plain inserts, not ON CONFLICT (whose
 * speculative insertion costs a third more): a member wallet created concurrently by an operation
 * makes the insert fail, and the import with it, asking for a rerun.
 */
export async function ensureStagedMemberWallets(trx: Tx, programId: string, now: Date) {
  await sql`update laurel_import_balances b set member_id = s.member_id from laurel_import_members s where s.line = b.line`.execute(trx);
  await RESOLVE_MEMBER_WALLETS(programId).execute(trx);
  try {
    await sql`
      with fresh as (
        update laurel_import_balances b set fresh = true,
          mw_id = nextval(${MEMBER_WALLET_IDS}), available_account_id = nextval(${ACCOUNT_IDS})
        where b.mw_id is null
        returning b.mw_id, b.member_id, b.wallet_id, b.amount, b.available_account_id
      ),
      ids as materialized (
        select f.*, nextval(${ACCOUNT_IDS}) as pending_account_id,
               nextval(${ACCOUNT_IDS}) as reserved_account_id
        from fresh f
      ),
      new_accounts as (
        insert into accounts (id, program_id, wallet_id, member_id, kind, balance) overriding system value
        select a.id, ${programId}, i.wallet_id, i.member_id, a.kind, a.balance
        from ids i cross join lateral (values (i.available_account_id, 'available', i.amount), (i.pending_account_id, 'pending', 0::bigint),
                                              (i.reserved_account_id, 'reserved', 0::bigint)) as a(id, kind, balance)
      )
      insert into member_wallets (id, program_id, member_id, wallet_id, available_account_id, pending_account_id, reserved_account_id, earned, last_activity_at)
      overriding system value
      select mw_id, ${programId}, member_id, wallet_id, available_account_id, pending_account_id, reserved_account_id, amount, ${now} from ids`.execute(trx);
  } catch (error) {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (code === '23505' && (constraint === 'accounts_wallet_id_member_id_kind_key' || constraint === 'member_wallets_member_id_wallet_id_key')) {
      throw new Error('a member wallet was created concurrently during the import; run the import again');
    }
    throw error;
  }
}

/**
 * Takes the member-wallet locks every ledger operation takes first (in id order, so two imports
 * cannot deadlock), drops the balances this batch key already applied (their derived operation
 * id exists), and reads the current balances — after the locks, in a new statement. Returns how
 * many were dropped.
 */
export async function lockAndDedupeStagedBalances(trx: Tx): Promise<number> {
  await sql`
    select mw.id from member_wallets mw
    where mw.id = any(array(select mw_id from laurel_import_balances where not fresh))
    order by mw.id
    for update`.execute(trx);
  const { rows } = await sql<{ n: number }>`
    with gone as (
      delete from laurel_import_balances b where (select true from operations o where o.id = b.op_id)
      returning 1
    ) select count(*)::int as n from gone`.execute(trx);
  await sql`
    update laurel_import_balances b set
      lot_id = nextval(${LOT_IDS}),
      settled = case when fresh then 0 else least(amount, greatest(0, -(select a.balance from accounts a where a.id = b.available_account_id))) end`.execute(trx);
  return rows[0]!.n;
}

/**
 * Every staged opening balance as a ledger earn, exactly as earn() would write it: an operation,
 * a vested lot, an entry issued → available, the cached balance and the lifetime counter (both
 * already written for member wallets created by this import). A negative balance (an earlier
 * clawback) is settled first, as the ledger does for any credit.
 */
export async function applyStagedBalances(
  trx: Tx,
  options: { programId: string; batchKey: string; batchId: string; actor: string; now: Date },
): Promise<{ balances: number; points: number; entries: number; lots: number; updated: number; counters: number }> {
  const { programId, batchKey, batchId, actor, now } = options;
  const { rows } = await sql<{ balances: number; points: number; entries: number; lots: number; updated: number; counters: number }>`
    with ops as (
      insert into operations (id, program_id, wallet_id, member_id, kind, amount, reference_type, reference_id, description, actor, metadata, created_at)
      select op_id, ${programId}, wallet_id, member_id, 'earn', amount, ${OPENING_BALANCE_REFERENCE}, ${batchKey}, 'Opening balance',
             ${actor}, jsonb_build_object('importBatchId', ${batchId}::text, 'line', line), ${now}
      from laurel_import_balances
      returning 1
    ),
    new_lots as (
      insert into lots (id, program_id, wallet_id, member_id, operation_id, amount, remaining, vested, vests_at, expires_at, created_at) overriding system value
      select lot_id, ${programId}, wallet_id, member_id, op_id, amount, amount - settled, true, null, expires_at, ${now} from laurel_import_balances
      returning 1
    ),
    new_entries as (
      insert into entries (program_id, wallet_id, member_id, operation_id, kind, amount, debit_account_id, credit_account_id, lot_id, lot_delta, created_at)
      select ${programId}, wallet_id, member_id, op_id, 'earn', amount, issued_account_id, available_account_id, lot_id, amount - settled, ${now}
      from laurel_import_balances
      returning 1
    ),
    cached as (
      update accounts a set balance = a.balance + b.amount from laurel_import_balances b
      where not b.fresh and a.id = b.available_account_id returning 1
    ),
    counters as (
      update member_wallets mw set earned = mw.earned + b.amount, last_activity_at = ${now} from laurel_import_balances b
      where not b.fresh and mw.id = b.mw_id returning 1
    )
    select (select count(*) from ops)::int as balances, coalesce((select sum(amount) from laurel_import_balances), 0)::bigint as points,
           (select count(*) from new_entries)::int as entries, (select count(*) from new_lots)::int as lots,
           (select count(*) from cached)::int as updated, (select count(*) from counters)::int as counters`.execute(trx);
  return rows[0]!;
}

export async function stagedFreshCount(trx: Tx) {
  const { rows } = await sql<{ fresh: number; total: number }>`
    select count(*) filter (where fresh)::int as fresh, count(*)::int as total from laurel_import_balances`.execute(trx);
  return rows[0]!;
}

/** Inactivity expiry: an opening balance is activity, so every live lot of those member wallets moves out. */
export async function refreshStagedInactivityExpiry(trx: Tx, walletId: string, expiresAt: Date) {
  await sql`
    update lots l set expires_at = ${expiresAt}
    from laurel_import_balances b
    where b.wallet_id = ${walletId} and l.member_id = b.member_id and l.wallet_id = b.wallet_id and l.remaining > 0`.execute(trx);
}

/**
 * The import may skip PostgreSQL's row-by-row foreign-key checks (about thirty per member: each
 * account, member wallet, operation, lot and entry checks each of its references): every
 * reference it writes is to a row it has just read or created in this transaction. See
 * skipForeignKeyChecks for when that is allowed. Returns whether the checks are off.
 */
export async function skipImportForeignKeyChecks(trx: Tx): Promise<boolean> {
  return skipForeignKeyChecks(trx, {
    inserts: ['operations', 'entries', 'members', 'accounts', 'member_wallets', 'lots'],
    updates: ['members', 'accounts', 'member_wallets', 'lots'],
  });
}

export { restoreForeignKeyChecks };

// ---------------------------------------------------------------- adjustments

export async function membersByCustomerIds(db: Executor, programId: string, customerIds: string[]) {
  if (customerIds.length === 0) return [];
  const { rows } = await sql<{ id: string; customer_id: string }>`
    select id, customer_id from members where program_id = ${programId} and customer_id = any(${customerIds}::text[])`.execute(db);
  return rows;
}

/** (member, wallet) pairs this batch key already adjusted. */
export async function adjustedByBatch(db: Executor, programId: string, batchKey: string, memberIds: string[]) {
  if (memberIds.length === 0) return [];
  const { rows } = await sql<{ member_id: string; wallet_id: string }>`
    select member_id, wallet_id from operations
    where member_id = any(${memberIds}::uuid[]) and program_id = ${programId} and kind = 'adjust'
      and reference_type = ${ADJUSTMENT_REFERENCE} and reference_id = ${batchKey}`.execute(db);
  return rows;
}

export async function savepoint(trx: Tx, name: string) {
  await sql.raw(`savepoint ${name}`).execute(trx);
}

export async function rollbackToSavepoint(trx: Tx, name: string) {
  await sql.raw(`rollback to savepoint ${name}`).execute(trx);
}

export async function releaseSavepoint(trx: Tx, name: string) {
  await sql.raw(`release savepoint ${name}`).execute(trx);
}
