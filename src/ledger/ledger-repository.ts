import { sql, type OperationNodeSource } from 'kysely';
import { alongside } from '../db/alongside.ts';
import type { Executor, Tx } from '../db/database.ts';
import { invariant } from '../http/error-codes.ts';
import type { EntryKind, OperationKind, ReservationStatus } from '../db/schema.ts';

export type LotRow = {
  id: number; program_id: string; wallet_id: string; member_id: string; operation_id: string;
  amount: number; remaining: number; vested: boolean; vests_at: Date | null; expires_at: Date | null; created_at: Date;
};

export interface MemberWalletState {
  id: number;
  programId: string;
  memberId: string;
  walletId: string;
  availableAccountId: number;
  pendingAccountId: number;
  reservedAccountId: number;
  available: number;
  pending: number;
  reserved: number;
  lastActivityAt: Date | null;
  /** Whether anything was due by the `now` given to the lock (vesting, timeout, expiry): settle first. */
  due: boolean;
}

export type WalletTerms = {
  id: string; code: string; unit: 'points' | 'currency';
  expiry_kind: 'never' | 'days_after_earn' | 'end_of_month' | 'end_of_year' | 'inactivity'; expiry_count: number; pending_days: number;
};

/**
 * The fast way in for an operation that names its wallet by code: finds the member and the
 * wallet, locks the member's wallet and reads its balances in one statement. Undefined when any of the three is
 * missing; the caller then takes the slow path, which says which (in the documented order) or
 * creates the member's wallet.
 */
export async function lockMemberWalletByCode(trx: Tx, programId: string, memberId: string, walletCode: string, now: Date) {
  return (await lockMemberWalletsByCode(trx, programId, [{ memberId, walletCode }], now)).get(walletKey(memberId, walletCode));
}

export const walletKey = (memberId: string, walletCode: string) => `${memberId}\u0000${walletCode}`;

/** A row of laurel_lock_member_wallets (migration 0010): a locked member wallet, read after its lock. */
export type LockedWalletRow = Omit<WalletTerms, 'id'> & {
  mw_id: number; status: string; program_id: string; member_id: string; wallet_id: string;
  available_account_id: number; pending_account_id: number; reserved_account_id: number;
  last_activity_at: Date | null; available: number; pending: number; reserved: number; due: boolean;
};

/**
 * Member wallets another statement of the transaction locked for it (an earn batch's key claim,
 * laurel_claim_keys_locking_wallets), for its next lockMemberWalletsByCode: the pairs it was asked
 * to lock, the instant its due flags were read at, and its rows. Taken once; used only when that
 * call asks for some of those pairs at that instant, else it locks and reads as usual (a second
 * lock of a row the transaction holds does not wait).
 */
const lockedAhead = new WeakMap<Tx, { programId: string; pairs: Set<string>; nowMs: number; rows: LockedWalletRow[] }>();

export function rememberLockedWallets(trx: Tx, programId: string, pairs: { memberId: string; walletCode: string }[], now: Date, rows: LockedWalletRow[]) {
  lockedAhead.set(trx, { programId, pairs: new Set(pairs.map((p) => walletKey(p.memberId, p.walletCode))), nowMs: now.getTime(), rows });
}

/**
 * lockMemberWalletByCode for many (member, wallet) pairs in one statement, keyed by walletKey.
 * The rows are locked in id order, so two transactions locking overlapping sets wait for each
 * other instead of deadlocking. Pairs whose member, wallet or member wallet is missing are absent.
 */
export async function lockMemberWalletsByCode(trx: Tx, programId: string, pairs: { memberId: string; walletCode: string }[], now: Date) {
  const out = new Map<string, { status: string; wallet: WalletTerms; state: MemberWalletState }>();
  if (pairs.length === 0) return out;
  const ahead = lockedAhead.get(trx);
  lockedAhead.delete(trx);
  const wanted = new Set(pairs.map((p) => walletKey(p.memberId, p.walletCode)));
  let rows: LockedWalletRow[];
  if (ahead && ahead.programId === programId && ahead.nowMs === now.getTime() && [...wanted].every((k) => ahead.pairs.has(k))) {
    rows = ahead.rows.filter((row) => wanted.has(walletKey(row.member_id, row.code)));
  } else {
    // Locks, then reads the balances after the locks (migration 0010 says why a function).
    ({ rows } = await sql<LockedWalletRow>`
      select * from laurel_lock_member_wallets(${programId}::uuid, ${pairs.map((p) => p.memberId)}::uuid[], ${pairs.map((p) => p.walletCode)}::text[], ${now}::timestamptz)
    `.execute(trx));
  }
  for (const row of rows) {
    out.set(walletKey(row.member_id, row.code), {
      status: row.status,
      wallet: { id: row.wallet_id, code: row.code, unit: row.unit, expiry_kind: row.expiry_kind, expiry_count: row.expiry_count, pending_days: row.pending_days },
      state: {
        id: row.mw_id, programId: row.program_id, memberId: row.member_id, walletId: row.wallet_id,
        availableAccountId: row.available_account_id, pendingAccountId: row.pending_account_id,
        reservedAccountId: row.reserved_account_id, available: row.available, pending: row.pending,
        reserved: row.reserved, lastActivityAt: row.last_activity_at, due: row.due,
      },
    });
  }
  return out;
}

/** Creates the member's accounts in a wallet on first use; concurrent callers converge on one set. */
export async function ensureMemberWallet(trx: Tx, programId: string, memberId: string, walletId: string): Promise<void> {
  await sql`
    insert into accounts (program_id, wallet_id, member_id, kind, balance)
    values (${programId}, ${walletId}, ${memberId}, 'available', 0),
           (${programId}, ${walletId}, ${memberId}, 'pending', 0),
           (${programId}, ${walletId}, ${memberId}, 'reserved', 0)
    on conflict do nothing`.execute(trx);
  await sql`
    insert into member_wallets (program_id, member_id, wallet_id, available_account_id, pending_account_id, reserved_account_id)
    select ${programId}, ${memberId}, ${walletId},
      (select id from accounts where wallet_id = ${walletId} and member_id = ${memberId} and kind = 'available'),
      (select id from accounts where wallet_id = ${walletId} and member_id = ${memberId} and kind = 'pending'),
      (select id from accounts where wallet_id = ${walletId} and member_id = ${memberId} and kind = 'reserved')
    on conflict (member_id, wallet_id) do nothing`.execute(trx);
}

export async function findMemberWalletIds(db: Executor, memberId: string) {
  return db.selectFrom('member_wallets').select(['wallet_id']).where('member_id', '=', memberId).execute();
}

export type OperationRow = Awaited<ReturnType<typeof insertOperation>>;

export async function insertOperation(
  trx: Tx,
  values: {
    program_id: string; wallet_id: string; member_id: string; kind: OperationKind; amount: number; actor: string;
    target_operation_id?: string | null; reservation_id?: string | null; counterpart_member_id?: string | null;
    reference_type?: string | null; reference_id?: string | null; description?: string | null; reason?: string | null;
    metadata?: Record<string, unknown>;
  },
) {
  return trx
    .insertInto('operations')
    .values({ ...values, metadata: JSON.stringify(values.metadata ?? {}) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface EarnWrite {
  operation: {
    id: string; program_id: string; wallet_id: string; member_id: string; amount: number; actor: string;
    reference_type: string | null; reference_id: string | null; description: string | null; metadata: Record<string, unknown>;
  };
  lot: { vested: boolean; vests_at: Date | null; expires_at: Date | null; created_at: Date };
  debitAccountId: number; creditAccountId: number; memberWalletId: number;
  event: { type: string; payload: Record<string, unknown> };
}

/**
 * Earns into wallets whose balances are not negative, in one statement however many: each
 * earn's operation, its lot (holding all of the amount), its entry and its outbox event; the
 * cached balances of the credited accounts and the wallets' counters, each row updated once with
 * the sum of its earns. The same rows the step-by-step path writes; the database's constraints
 * check them the same way. Returns each operation row and its lot id, by operation id.
 * `inserts`: others sent in the same statement (src/db/alongside.ts), such as the earns' tier
 * activity; `alongsideRows` is how many rows each inserted.
 */
export async function writeEarns(trx: Tx, earns: EarnWrite[], inserts: OperationNodeSource[] = []) {
  const { ctes, counts } = alongside(inserts);
  const rows = earns.map((e, n) => ({
    n, ...e.operation, ...e.lot, debit_account_id: e.debitAccountId, credit_account_id: e.creditAccountId,
    member_wallet_id: e.memberWalletId, event_type: e.event.type, event_payload: e.event.payload,
  }));
  const { rows: written } = await sql<Record<string, unknown> & { id: string; lot_id: number; alongside_rows: number[] }>`
    with ${ctes} r as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
        n integer, id uuid, program_id uuid, wallet_id uuid, member_id uuid, amount bigint, actor text,
        reference_type text, reference_id text, description text, metadata jsonb,
        vested boolean, vests_at timestamptz, expires_at timestamptz, created_at timestamptz,
        debit_account_id bigint, credit_account_id bigint, member_wallet_id bigint, event_type text, event_payload jsonb)
    ),
    op as (
      insert into operations (id, program_id, wallet_id, member_id, kind, amount, actor, reference_type, reference_id, description, metadata)
      select id, program_id, wallet_id, member_id, 'earn', amount, actor, reference_type, reference_id, description, metadata from r order by n
      returning *
    ),
    lot as (
      insert into lots (program_id, wallet_id, member_id, operation_id, amount, remaining, vested, vests_at, expires_at, created_at)
      select r.program_id, r.wallet_id, r.member_id, op.id, r.amount, r.amount, r.vested, r.vests_at, r.expires_at, r.created_at
      from r join op on op.id = r.id order by r.n
      returning id, operation_id
    ),
    entry as (
      insert into entries (program_id, wallet_id, member_id, operation_id, kind, amount, debit_account_id, credit_account_id, lot_id, lot_delta, created_at)
      select r.program_id, r.wallet_id, r.member_id, r.id, 'earn', r.amount, r.debit_account_id, r.credit_account_id, lot.id, r.amount, r.created_at
      from r join lot on lot.operation_id = r.id order by r.n
    ),
    -- Each touched row by its primary key (= any(array(…))): joined to the recordset instead, the
    -- planner, expecting 100 rows from it, may hash-join a sequential scan of the whole table.
    balance as (
      update accounts a set balance = a.balance + (select sum(r.amount) from r where r.credit_account_id = a.id)
      where a.id = any(array(select credit_account_id from r))
    ),
    counters as (
      update member_wallets mw
      set earned = mw.earned + (select sum(r.amount) from r where r.member_wallet_id = mw.id),
          last_activity_at = (select max(r.created_at) from r where r.member_wallet_id = mw.id)
      where mw.id = any(array(select member_wallet_id from r))
    ),
    event as (
      insert into events (program_id, type, member_id, payload) select program_id, event_type, member_id, event_payload from r order by n
    )
    select op.*, lot.id as lot_id, ${counts} as alongside_rows from op join lot on lot.operation_id = op.id`.execute(trx);
  const out = new Map<string, { operation: OperationRow; lotId: number }>();
  for (const { lot_id: lotId, alongside_rows: _, ...operation } of written) out.set(operation.id, { operation: operation as unknown as OperationRow, lotId });
  invariant(out.size === earns.length, `${earns.length} earns written as ${out.size}`);
  return { written: out, alongsideRows: written[0]?.alongside_rows ?? [] };
}

export async function findOperation(db: Executor, programId: string, id: string) {
  return db.selectFrom('operations').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

/** NO KEY UPDATE: entries and lots that reference the row (key share locks) are not blocked. */
export async function lockOperation(trx: Tx, programId: string, id: string) {
  return trx.selectFrom('operations').selectAll().where('program_id', '=', programId).where('id', '=', id).forNoKeyUpdate().executeTakeFirst();
}

/** Points that left a lot by expiry (including points restored into it that expired again). */
export async function expiredFromLot(db: Executor, lotId: number): Promise<number> {
  const row = await db
    .selectFrom('entries')
    .select(sql<number>`coalesce(-sum(lot_delta), 0)::bigint`.as('total'))
    .where('lot_id', '=', lotId)
    .where('kind', '=', 'expire')
    .executeTakeFirstOrThrow();
  return row.total;
}

/** Expired points that earlier reversals of an earn counted as already taken back. */
export async function expiryCountedByReversals(db: Executor, earnOperationId: string): Promise<number> {
  const row = await db
    .selectFrom('operations')
    .select(sql<number>`coalesce(sum((metadata->>'alreadyExpired')::bigint), 0)::bigint`.as('total'))
    .where('target_operation_id', '=', earnOperationId)
    .where('kind', '=', 'reverse')
    .executeTakeFirstOrThrow();
  return row.total;
}

export async function addToOperation(trx: Tx, id: string, column: 'reversed' | 'restored', amount: number) {
  await trx.updateTable('operations').set({ [column]: sql`${sql.ref(column)} + ${amount}` }).where('id', '=', id).execute();
}

export async function insertEntry(
  trx: Tx,
  values: {
    program_id: string; wallet_id: string; member_id: string; operation_id: string | null; kind: EntryKind;
    amount: number; debit_account_id: number; credit_account_id: number; lot_id?: number | null; lot_delta?: number;
    created_at: Date;
  },
) {
  return trx.insertInto('entries').values(values).returning(['id']).executeTakeFirstOrThrow();
}

/**
 * One statement for what an operation changed on a member's wallet: the cached balances of its
 * accounts, and its counters and last activity.
 */
export async function applyWalletChanges(
  trx: Tx, memberWalletId: number, deltas: [accountId: number, delta: number][], counters: Partial<Record<CounterColumn, number>>, activityAt?: Date,
) {
  const moves = deltas.filter(([, d]) => d !== 0);
  const set = Object.entries(counters).filter(([, amount]) => amount).map(([column, amount]) => sql`${sql.ref(column)} = ${sql.ref(column)} + ${amount}`);
  if (activityAt) set.push(sql`last_activity_at = ${activityAt}`);
  const moved = moves.length > 0
    ? sql`update accounts a set balance = a.balance + v.delta from (values ${sql.join(moves.map(([id, d]) => sql`(${id}::bigint, ${d}::bigint)`))}) v(id, delta) where a.id = v.id`
    : undefined;
  const bumped = set.length > 0 ? sql`update member_wallets set ${sql.join(set)} where id = ${memberWalletId}` : undefined;
  if (moved && bumped) await sql`with moved as (${moved}) ${bumped}`.execute(trx);
  else await (moved ?? bumped)?.execute(trx);
}

export type CounterColumn =
  | 'earned' | 'spent' | 'expired' | 'reversed' | 'restored'
  | 'adjusted_in' | 'adjusted_out' | 'transferred_in' | 'transferred_out';

export async function insertLot(
  trx: Tx,
  values: {
    program_id: string; wallet_id: string; member_id: string; operation_id: string; amount: number; remaining: number;
    vested: boolean; vests_at: Date | null; expires_at: Date | null; created_at: Date;
  },
) {
  return trx.insertInto('lots').values(values).returningAll().executeTakeFirstOrThrow() as Promise<LotRow>;
}

export async function setLotRemaining(trx: Tx, lotId: number, remaining: number, vested?: boolean) {
  await trx.updateTable('lots').set({ remaining, ...(vested !== undefined ? { vested } : {}) }).where('id', '=', lotId).execute();
}

export async function setLotExpiry(trx: Tx, lotId: number, expiresAt: Date) {
  await trx.updateTable('lots').set({ expires_at: expiresAt }).where('id', '=', lotId).execute();
}

/** Vested lots with points left, soonest-expiring first and never-expiring last. */
export async function spendableLots(trx: Tx, memberId: string, walletId: string): Promise<LotRow[]> {
  return trx
    .selectFrom('lots')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('wallet_id', '=', walletId)
    .where('remaining', '>', 0)
    .where('vested', '=', true)
    .orderBy(sql`expires_at asc nulls last`)
    .orderBy('id')
    .forUpdate()
    .execute() as Promise<LotRow[]>;
}

export async function lotsDueForVesting(trx: Tx, memberId: string, walletId: string, now: Date): Promise<LotRow[]> {
  return trx
    .selectFrom('lots')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('wallet_id', '=', walletId)
    .where('vested', '=', false)
    .where('vests_at', '<=', now)
    .orderBy('vests_at')
    .orderBy('id')
    .forUpdate()
    .execute() as Promise<LotRow[]>;
}

export async function lotsDueForExpiry(trx: Tx, memberId: string, walletId: string, now: Date): Promise<LotRow[]> {
  return trx
    .selectFrom('lots')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('wallet_id', '=', walletId)
    .where('remaining', '>', 0)
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .orderBy('id')
    .forUpdate()
    .execute() as Promise<LotRow[]>;
}

export async function lockLot(trx: Tx, lotId: number): Promise<LotRow> {
  return trx.selectFrom('lots').selectAll().where('id', '=', lotId).forUpdate().executeTakeFirstOrThrow() as Promise<LotRow>;
}

export async function lotsOfOperation(trx: Tx, operationId: string): Promise<LotRow[]> {
  return trx.selectFrom('lots').selectAll().where('operation_id', '=', operationId).orderBy('id').forUpdate().execute() as Promise<LotRow[]>;
}

/**
 * Inactivity expiry: every activity pushes the expiry of all the member's live lots forward.
 * Lots that never expire (earned before the wallet switched to this policy) stay that way.
 */
export async function refreshInactivityExpiry(trx: Tx, memberId: string, walletId: string, expiresAt: Date) {
  await trx
    .updateTable('lots')
    .set({ expires_at: expiresAt })
    .where('member_id', '=', memberId)
    .where('wallet_id', '=', walletId)
    .where('remaining', '>', 0)
    .where('expires_at', 'is not', null)
    .execute();
}

export async function insertAllocation(trx: Tx, values: { operation_id: string; lot_id: number; amount: number; seq: number }) {
  await trx.insertInto('lot_allocations').values(values).execute();
}

/** Allocations still outstanding, in reverse order of consumption (latest-expiring first). */
export async function outstandingAllocations(trx: Tx, operationId: string) {
  return trx
    .selectFrom('lot_allocations')
    .selectAll()
    .where('operation_id', '=', operationId)
    .where(sql<boolean>`released < amount`)
    .orderBy('seq', 'desc')
    .forUpdate()
    .execute();
}

export async function releaseAllocation(trx: Tx, operationId: string, lotId: number, amount: number) {
  await trx
    .updateTable('lot_allocations')
    .set({ released: sql`released + ${amount}` })
    .where('operation_id', '=', operationId)
    .where('lot_id', '=', lotId)
    .execute();
}

export async function insertReservation(
  trx: Tx,
  values: { program_id: string; wallet_id: string; member_id: string; operation_id: string; amount: number; expires_at: Date; reference_type: string | null; reference_id: string | null; created_at: Date },
) {
  return trx.insertInto('reservations').values({ ...values, status: 'pending' }).returningAll().executeTakeFirstOrThrow();
}

export async function findReservation(db: Executor, programId: string, id: string) {
  return db.selectFrom('reservations').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function lockReservation(trx: Tx, id: string) {
  return trx.selectFrom('reservations').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
}

export async function resolveReservation(
  trx: Tx,
  id: string,
  values: { status: Exclude<ReservationStatus, 'pending'>; resolved_at: Date; posted_amount?: number; post_operation_id?: string },
) {
  await trx.updateTable('reservations').set(values).where('id', '=', id).execute();
}

export async function reservationsDue(trx: Tx, memberId: string, walletId: string, now: Date) {
  return trx
    .selectFrom('reservations')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('wallet_id', '=', walletId)
    .where('status', '=', 'pending')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .forUpdate()
    .execute();
}

export async function findReservationByPost(db: Executor, postOperationId: string) {
  return db.selectFrom('reservations').selectAll().where('post_operation_id', '=', postOperationId).executeTakeFirst();
}

// ---- reads ----

export interface WalletBalanceRow {
  /** 1-based place of the member in the ids asked for. */
  ordinal: number;
  found: boolean; due: boolean; wallet_id: string | null; wallet_code: string | null; unit: string | null;
  available: number | null; pending: number | null; reserved: number | null;
  earned: number | null; spent: number | null; expired: number | null; reversed: number | null; restored: number | null;
  adjusted_in: number | null; adjusted_out: number | null; transferred_in: number | null; transferred_out: number | null;
  last_activity_at: Date | null; has_wallet: boolean;
  /** Up to five [expiresAtMs, amount] pairs, soonest first. */
  next: [number, number][];
}

/**
 * Members' balances in every wallet of the program, in one statement (one snapshot, one round
 * trip, whatever the number of members): for each requested member, in request order, whether
 * it exists, whether anything is due for it by `at` (then the caller settles first and reads
 * again), and per wallet the balances, counters and next expirations. Wallets in listWallets()
 * order; one row with found = false for an id that is no member of the program. An id asked for
 * twice is answered twice (`ordinal` tells the rows apart). Each member is read by the same
 * cached query inside laurel_balance_snapshots (migration 0012).
 */
export async function balanceSnapshots(db: Executor, programId: string, memberIds: string[], at: Date | undefined): Promise<WalletBalanceRow[]> {
  const { rows } = await sql<WalletBalanceRow>`
    select * from laurel_balance_snapshots(${programId}::uuid, ${memberIds}::uuid[], ${at ?? null}::timestamptz)`.execute(db);
  return rows;
}

/** Whether anything is due (vesting, expiry, reservation timeout) for a member — a cheap check before a locking pass. */
export async function hasDueWork(db: Executor, memberId: string, now: Date): Promise<boolean> {
  const { rows } = await sql<{ due: boolean }>`
    select exists (select 1 from lots where member_id = ${memberId} and not vested and vests_at <= ${now})
        or exists (select 1 from lots where member_id = ${memberId} and remaining > 0 and expires_at <= ${now})
        or exists (select 1 from reservations where member_id = ${memberId} and status = 'pending' and expires_at <= ${now})
      as due`.execute(db);
  return rows[0]?.due ?? false;
}

export async function listEntries(
  db: Executor,
  memberId: string,
  options: { walletId?: string; beforeId?: number; limit: number },
) {
  let q = db
    .selectFrom('entries as e')
    .innerJoin('wallets as w', 'w.id', 'e.wallet_id')
    .innerJoin('accounts as d', 'd.id', 'e.debit_account_id')
    .innerJoin('accounts as c', 'c.id', 'e.credit_account_id')
    .leftJoin('operations as o', 'o.id', 'e.operation_id')
    .select([
      'e.id', 'e.kind', 'e.amount', 'e.lot_id', 'e.lot_delta', 'e.operation_id', 'e.created_at', 'e.member_id',
      'w.code as wallet', 'd.kind as debit_kind', 'd.member_id as debit_member_id', 'c.kind as credit_kind', 'c.member_id as credit_member_id',
      'o.reference_type', 'o.reference_id', 'o.actor', 'o.description', 'o.reason', 'o.kind as operation_kind',
    ])
    .where('e.member_id', '=', memberId);
  if (options.walletId) q = q.where('e.wallet_id', '=', options.walletId);
  if (options.beforeId !== undefined) q = q.where('e.id', '<', options.beforeId);
  return q.orderBy('e.id', 'desc').limit(options.limit).execute();
}

export async function entriesOfOperation(db: Executor, operationId: string) {
  return db.selectFrom('entries').selectAll().where('operation_id', '=', operationId).orderBy('id').execute();
}

export async function listLots(db: Executor, memberId: string, walletId: string, includeEmpty: boolean) {
  let q = db.selectFrom('lots').selectAll().where('member_id', '=', memberId).where('wallet_id', '=', walletId);
  if (!includeEmpty) q = q.where('remaining', '>', 0);
  return q.orderBy(sql`expires_at asc nulls last`).orderBy('id').limit(500).execute();
}
