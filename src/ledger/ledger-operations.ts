import type { Tx } from '../db/database.ts';
import { recordEvent } from '../events/event-repository.ts';
import { earnedActivityInsert, recordPointsEarned, recordPointsEarnedMany, recordPointsReversed } from '../tiers/tier-operations.ts';
import { invariant, ProblemError } from '../http/error-codes.ts';
import { SINGLE } from '../idempotency/run-idempotent.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { insertAuditEvent, programAccountIds } from '../programs/program-repository.ts';
import { expiresAt as policyExpiry } from './expiry-policy.ts';
import * as repo from './ledger-repository.ts';
import type { LotRow, MemberWalletState } from './ledger-repository.ts';
import { lotView, operationView, reservationView } from './ledger-views.ts';
import { planReversal } from './reversal-plan.ts';
import type { EntryKind } from '../db/schema.ts';
import { timeOrderedId } from '../shared/time-ordered-id.ts';

export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;
const DAY_MS = 86_400_000;

export interface LedgerContext {
  trx: Tx;
  program: {
    id: string; time_zone: string; reversal_policy: 'allow_negative' | 'take_remaining';
    /** Loaded with the request's context (openLedgerContext); absent in contexts built by jobs. */
    currency?: string; currency_exponent?: number; settings?: unknown;
  };
  now: Date;
  actor: string;
}

export interface Reference {
  type: string;
  id: string;
}

type Wallet = { id: string; code: string; unit: 'points' | 'currency'; expiry_kind: 'never' | 'days_after_earn' | 'end_of_month' | 'end_of_year' | 'inactivity'; expiry_count: number; pending_days: number };
type ProgramAccounts = Awaited<ReturnType<typeof programAccountIds>>;

/** A member's wallet, locked for the rest of the transaction, with balance changes buffered until flush(). */
interface Open {
  wallet: Wallet;
  st: MemberWalletState;
  accounts: ProgramAccounts;
  deltas: Map<number, number>;
  counters: Partial<Record<repo.CounterColumn, number>>;
  activity: boolean;
  /** What settling on open expired (for the maintenance report). */
  expiredOnOpen: { lots: number; points: number };
}

const programAccountCache = new Map<string, ProgramAccounts>();

async function accountsOf(trx: Tx, walletId: string): Promise<ProgramAccounts> {
  let ids = programAccountCache.get(walletId);
  if (!ids) {
    ids = await programAccountIds(trx, walletId);
    programAccountCache.set(walletId, ids);
  }
  return ids;
}

async function walletByCode(ctx: LedgerContext, code: string): Promise<Wallet> {
  const wallet = await ctx.trx
    .selectFrom('wallets')
    .select(['id', 'code', 'unit', 'expiry_kind', 'expiry_count', 'pending_days'])
    .where('program_id', '=', ctx.program.id)
    .where('code', '=', code)
    .executeTakeFirst();
  if (!wallet) throw new ProblemError('unknown_wallet', `this program has no wallet "${code}"`, { wallet: code });
  return wallet;
}

async function walletById(ctx: LedgerContext, id: string): Promise<Wallet> {
  return ctx.trx
    .selectFrom('wallets')
    .select(['id', 'code', 'unit', 'expiry_kind', 'expiry_count', 'pending_days'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

async function memberOf(ctx: LedgerContext, memberId: string, requireActive: boolean) {
  const member = await findMemberRow(ctx.trx, ctx.program.id, memberId);
  if (!member) throw new ProblemError('member_not_found', `no member ${memberId} in this program`);
  if (requireActive && member.status !== 'active') {
    throw new ProblemError('member_blocked', `member ${memberId} is blocked`, { memberId });
  }
  return member;
}

async function open(ctx: LedgerContext, memberId: string, wallet: Wallet): Promise<Open> {
  const lock = async () => (await repo.lockMemberWalletByCode(ctx.trx, ctx.program.id, memberId, wallet.code, ctx.now))?.state;
  let st = await lock();
  if (!st) {
    await repo.ensureMemberWallet(ctx.trx, ctx.program.id, memberId, wallet.id);
    st = await lock();
  }
  invariant(st, 'member wallet exists after ensure');
  return settled(ctx, wallet, st);
}

async function settled(ctx: LedgerContext, wallet: Wallet, st: MemberWalletState): Promise<Open> {
  const o: Open = { wallet, st, accounts: await accountsOf(ctx.trx, wallet.id), deltas: new Map(), counters: {}, activity: false, expiredOnOpen: { lots: 0, points: 0 } };
  if (st.due) o.expiredOnOpen = await settleDue(ctx, o);
  return o;
}

/**
 * walletByCode + memberOf + open in two statements when the member already has the wallet (the
 * common case); otherwise the slow path, whose checks give the documented error order.
 */
async function openByCode(ctx: LedgerContext, memberId: string, walletCode: string, requireActive: boolean): Promise<Open> {
  const fast = await repo.lockMemberWalletByCode(ctx.trx, ctx.program.id, memberId, walletCode, ctx.now);
  if (fast) {
    if (requireActive && fast.status !== 'active') throw new ProblemError('member_blocked', `member ${memberId} is blocked`, { memberId });
    return settled(ctx, fast.wallet, fast.state);
  }
  const wallet = await walletByCode(ctx, walletCode);
  await memberOf(ctx, memberId, requireActive);
  return open(ctx, memberId, wallet);
}

function bucketOf(o: Open, accountId: number): 'available' | 'pending' | 'reserved' | undefined {
  if (accountId === o.st.availableAccountId) return 'available';
  if (accountId === o.st.pendingAccountId) return 'pending';
  if (accountId === o.st.reservedAccountId) return 'reserved';
  return undefined;
}

function count(o: Open, column: repo.CounterColumn, amount: number) {
  o.counters[column] = (o.counters[column] ?? 0) + amount;
}

/**
 * The program, wallet and member an operation, lot, entry or reservation names: those of the
 * member wallet it moves, locked by this transaction, so the three always agree. The database
 * holds the same by a composite reference to member_wallets (migration 0018). `memberId`, when
 * given, is the member the request named, which that wallet must be.
 */
function ownerOf(ctx: LedgerContext, o: Pick<Open, 'wallet' | 'st'>, memberId?: string) {
  invariant(o.st.programId === ctx.program.id && o.st.walletId === o.wallet.id && (memberId === undefined || o.st.memberId === memberId),
    `member wallet ${o.st.id} is member ${memberId ?? o.st.memberId}'s ${o.wallet.code} in program ${ctx.program.id}`);
  return { program_id: o.st.programId, wallet_id: o.st.walletId, member_id: o.st.memberId };
}

/** Writes one entry and moves the buffered member balances; a member side must stay ≥ 0 except available. */
async function entry(
  ctx: LedgerContext,
  o: Open,
  e: { kind: EntryKind; operationId: string | null; amount: number; debit: number; credit: number; lot?: LotRow; lotDelta?: number; lotInserted?: boolean },
) {
  invariant(Number.isSafeInteger(e.amount) && e.amount > 0, `entry amount ${e.amount} is a positive safe integer`);
  const programAccounts = Object.values(o.accounts);
  for (const id of [e.debit, e.credit]) {
    invariant(bucketOf(o, id) !== undefined || programAccounts.includes(id), `account ${id} is the member's or the program's in wallet ${o.wallet.code}`);
  }
  await repo.insertEntry(ctx.trx, {
    ...ownerOf(ctx, o),
    operation_id: e.operationId,
    kind: e.kind,
    amount: e.amount,
    debit_account_id: e.debit,
    credit_account_id: e.credit,
    lot_id: e.lot?.id ?? null,
    lot_delta: e.lotDelta ?? 0,
    created_at: ctx.now,
  });
  for (const [accountId, delta] of [[e.debit, -e.amount], [e.credit, e.amount]] as const) {
    const bucket = bucketOf(o, accountId);
    if (!bucket) continue;
    o.st[bucket] += delta;
    o.deltas.set(accountId, (o.deltas.get(accountId) ?? 0) + delta);
    invariant(bucket === 'available' || o.st[bucket] >= 0, `${bucket} balance stays ≥ 0`);
  }
  // A lot inserted for this entry was written with its remaining already.
  if (e.lot && e.lotDelta && !e.lotInserted) {
    e.lot.remaining += e.lotDelta;
    invariant(e.lot.remaining >= 0 && e.lot.remaining <= e.lot.amount, `lot ${e.lot.id} remaining within 0..amount`);
    await repo.setLotRemaining(ctx.trx, e.lot.id, e.lot.remaining);
  }
}

async function flush(ctx: LedgerContext, o: Open) {
  await repo.applyWalletChanges(ctx.trx, o.st.id, [...o.deltas], o.counters, o.activity ? ctx.now : undefined);
  o.deltas.clear();
  o.counters = {};
  if (o.activity && o.wallet.expiry_kind === 'inactivity') {
    await repo.refreshInactivityExpiry(ctx.trx, o.st.memberId, o.wallet.id, new Date(ctx.now.getTime() + o.wallet.expiry_count * DAY_MS));
  }
  o.activity = false;
}

/**
 * Points entering `available` for a lot. While the balance is negative (a clawback under
 * allow_negative), incoming points settle that debt first and only the rest stays in the lot.
 */
async function creditAvailable(ctx: LedgerContext, o: Open, kind: EntryKind, operationId: string | null, lot: LotRow, amount: number, debit: number) {
  const settled = Math.min(amount, Math.max(0, -o.st.available));
  await entry(ctx, o, { kind, operationId, amount, debit, credit: o.st.availableAccountId, lot, lotDelta: amount - settled });
}

async function vestLot(ctx: LedgerContext, o: Open, lot: LotRow) {
  const amount = lot.remaining;
  if (amount > 0) {
    const settled = Math.min(amount, Math.max(0, -o.st.available));
    await entry(ctx, o, { kind: 'vest', operationId: lot.operation_id, amount, debit: o.st.pendingAccountId, credit: o.st.availableAccountId, lot, lotDelta: -settled });
    // "Your points are ready": shops tell the member when a return window closes.
    await recordEvent(ctx.trx, ctx.program.id, 'points.vested', o.st.memberId, {
      memberId: o.st.memberId, wallet: o.wallet.code, amount, settledDebt: settled, operationId: lot.operation_id, lotId: String(lot.id),
      vestedAt: (lot.vests_at ?? ctx.now).toISOString(),
    });
  }
  lot.vested = true;
  await repo.setLotRemaining(ctx.trx, lot.id, lot.remaining, true);
}

async function expireLot(ctx: LedgerContext, o: Open, lot: LotRow) {
  const amount = lot.remaining;
  if (amount <= 0) return;
  const from = lot.vested ? o.st.availableAccountId : o.st.pendingAccountId;
  await entry(ctx, o, { kind: 'expire', operationId: null, amount, debit: from, credit: o.accounts.expired, lot, lotDelta: -amount });
  count(o, 'expired', amount);
}

/**
 * Brings a member's wallet up to date: applies every vesting, reservation timeout and lot expiry
 * due by `ctx.now` in the order of their due times (at one instant: vesting, then timeouts, then
 * expiry). Vestings and timeouts both settle a negative balance first, and a lot that expired
 * before it vested never settles anything, so the order decides which lots keep which points:
 * replaying it in time order makes the state the same whether the wallet was touched at every
 * due time or only now.
 */
async function settleDue(ctx: LedgerContext, o: Open): Promise<{ lots: number; points: number }> {
  const { memberId } = o.st;
  // Ties: by rank, then lot id (creation order) or reservation id.
  type Due = { at: number; rank: number; id: number | string; run: () => Promise<void> };
  const queue: Due[] = [];
  const expiredLots = new Set<number>();
  let expiredPoints = 0;
  const expireAt = (lotId: number, at: number) => queue.push({
    at, rank: 2, id: lotId,
    run: async () => {
      // Read again: an earlier step may have changed the lot since the lists were loaded.
      const lot = await repo.lockLot(ctx.trx, lotId);
      if (lot.remaining === 0) return;
      expiredLots.add(lot.id);
      expiredPoints += lot.remaining;
      await expireLot(ctx, o, lot);
    },
  });
  for (const lot of await repo.lotsDueForVesting(ctx.trx, memberId, o.wallet.id, ctx.now)) {
    queue.push({
      at: lot.vests_at!.getTime(), rank: 0, id: lot.id,
      run: async () => {
        const fresh = await repo.lockLot(ctx.trx, lot.id);
        if (!fresh.vested) await vestLot(ctx, o, fresh);
      },
    });
  }
  for (const reservation of await repo.reservationsDue(ctx.trx, memberId, o.wallet.id, ctx.now)) {
    const at = reservation.expires_at.getTime();
    queue.push({
      at, rank: 1, id: reservation.id,
      run: async () => {
        const { lots } = await releaseReservation(ctx, o, reservation, 'expired');
        // Points returned to a lot already past its expiry expire at once; to one expiring before now, then.
        for (const lot of lots) {
          if (lot.expires_at && lot.expires_at <= ctx.now) expireAt(lot.id, Math.max(at, lot.expires_at.getTime()));
        }
      },
    });
  }
  for (const lot of await repo.lotsDueForExpiry(ctx.trx, memberId, o.wallet.id, ctx.now)) expireAt(lot.id, lot.expires_at!.getTime());
  const order = (a: Due, b: Due) => a.at - b.at || a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  for (;;) {
    queue.sort(order);
    const next = queue.shift();
    if (!next) break;
    await next.run();
  }
  await flush(ctx, o);
  if (expiredLots.size > 0) {
    await recordEvent(ctx.trx, ctx.program.id, 'points.expired', memberId, {
      memberId, wallet: o.wallet.code, amount: expiredPoints, lotCount: expiredLots.size,
    });
  }
  return { lots: expiredLots.size, points: expiredPoints };
}

/** Takes `amount` from vested lots, soonest-expiring first; optionally records the allocations for a later refund. */
async function consumeLots(
  ctx: LedgerContext, o: Open, amount: number, operationId: string, kind: EntryKind, credit: number, allocate: boolean,
): Promise<{ lot: LotRow; amount: number }[]> {
  const lots = await repo.spendableLots(ctx.trx, o.st.memberId, o.wallet.id);
  const taken: { lot: LotRow; amount: number }[] = [];
  let left = amount;
  for (const lot of lots) {
    if (left === 0) break;
    const take = Math.min(lot.remaining, left);
    await entry(ctx, o, { kind, operationId, amount: take, debit: o.st.availableAccountId, credit, lot, lotDelta: -take });
    if (allocate) await repo.insertAllocation(ctx.trx, { operation_id: operationId, lot_id: lot.id, amount: take, seq: taken.length });
    taken.push({ lot, amount: take });
    left -= take;
  }
  invariant(left === 0, `vested lots cover the available balance (short by ${left})`);
  return taken;
}

/**
 * Inactivity: activity moves the expiry of the lots that hold points, not of lots a spend or
 * reservation emptied. Points coming back to such a lot take the member's current deadline
 * (last activity + N days): they expire at once only if the member is inactive now.
 */
async function catchUpInactivityExpiry(ctx: LedgerContext, o: Open, lot: LotRow) {
  if (o.wallet.expiry_kind !== 'inactivity' || !o.st.lastActivityAt) return;
  const deadline = new Date(o.st.lastActivityAt.getTime() + o.wallet.expiry_count * DAY_MS);
  if (!lot.expires_at || lot.expires_at >= deadline) return;
  lot.expires_at = deadline;
  await repo.setLotExpiry(ctx.trx, lot.id, deadline);
}

/** Gives points back to the lots an operation consumed, latest-expiring first. */
async function releaseAllocations(
  ctx: LedgerContext, o: Open, allocationOperationId: string, amount: number, operationId: string, kind: EntryKind, debit: number,
) {
  let left = amount;
  const lots: LotRow[] = [];
  for (const allocation of await repo.outstandingAllocations(ctx.trx, allocationOperationId)) {
    if (left === 0) break;
    const give = Math.min(allocation.amount - allocation.released, left);
    const lot = await repo.lockLot(ctx.trx, allocation.lot_id);
    await catchUpInactivityExpiry(ctx, o, lot);
    await creditAvailable(ctx, o, kind, operationId, lot, give, debit);
    await repo.releaseAllocation(ctx.trx, allocationOperationId, allocation.lot_id, give);
    lots.push(lot);
    left -= give;
  }
  invariant(left === 0, `allocations cover the released amount (short by ${left})`);
  return lots;
}

async function releaseReservation(
  ctx: LedgerContext, o: Open,
  reservation: { id: string; operation_id: string; amount: number; reference_type: string | null; reference_id: string | null },
  status: 'voided' | 'expired',
) {
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, o),
    kind: status === 'voided' ? 'void' : 'expire_reservation', amount: reservation.amount,
    actor: status === 'voided' ? ctx.actor : 'system', reservation_id: reservation.id,
    target_operation_id: reservation.operation_id,
    reference_type: reservation.reference_type, reference_id: reservation.reference_id,
  });
  const lots = await releaseAllocations(ctx, o, reservation.operation_id, reservation.amount, op.id, 'release', o.st.reservedAccountId);
  await repo.resolveReservation(ctx.trx, reservation.id, { status, resolved_at: ctx.now });
  await recordEvent(ctx.trx, ctx.program.id, status === 'voided' ? 'reservation.voided' : 'reservation.expired', o.st.memberId, {
    memberId: o.st.memberId, wallet: o.wallet.code, reservationId: reservation.id, amount: reservation.amount,
  });
  return { op, lots };
}

async function expireNowDueLots(ctx: LedgerContext, o: Open) {
  for (const lot of await repo.lotsDueForExpiry(ctx.trx, o.st.memberId, o.wallet.id, ctx.now)) await expireLot(ctx, o, lot);
}

function balanceOf(o: Pick<Open, 'wallet' | 'st'>) {
  return { wallet: o.wallet.code, available: o.st.available, pending: o.st.pending, reserved: o.st.reserved };
}

function referenceColumns(reference?: Reference | null) {
  return { reference_type: reference?.type ?? null, reference_id: reference?.id ?? null };
}

function assertAmount(amount: number) {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new ProblemError('validation_failed', 'amount must be a positive integer below 2^53');
  }
}

// ---------------------------------------------------------------- operations

export interface EarnInput {
  memberId: string;
  wallet: string;
  amount: number;
  pendingUntil?: Date | null;
  expiresAt?: Date | null;
  reference?: Reference | null;
  description?: string | null;
  metadata?: Record<string, unknown>;
}

function validateEarn(ctx: LedgerContext, input: EarnInput) {
  assertAmount(input.amount);
  if (input.expiresAt && input.expiresAt <= ctx.now) {
    throw new ProblemError('validation_failed', 'expiresAt must be in the future', { field: 'expiresAt' });
  }
}

/** An earn the single statement can write: the wallet owes nothing and has no inactivity clock to move. */
function earnsAtOnce(o: { wallet: Wallet; st: MemberWalletState }) {
  return o.st.available >= 0 && o.wallet.expiry_kind !== 'inactivity';
}

export async function earn(ctx: LedgerContext, input: EarnInput) {
  validateEarn(ctx, input);
  const o = await openByCode(ctx, input.memberId, input.wallet, true);
  const { wallet } = o;
  // The common case in one statement; otherwise step by step.
  if (earnsAtOnce(o)) return earnAtOnce(ctx, o, input);
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, o, input.memberId), kind: 'earn', amount: input.amount,
    actor: ctx.actor, ...referenceColumns(input.reference), description: input.description ?? null, metadata: input.metadata,
  });
  const lot = await createLot(ctx, o, op.id, input.amount, 'earn', o.accounts.issued, {
    pendingUntil: input.pendingUntil === undefined ? defaultVesting(ctx, wallet) : input.pendingUntil,
    expiresAt: input.expiresAt ?? null,
  });
  count(o, 'earned', input.amount);
  o.activity = true;
  await flush(ctx, o);
  await recordEvent(ctx.trx, ctx.program.id, 'points.earned', input.memberId, {
    memberId: input.memberId, wallet: wallet.code, amount: input.amount, operationId: op.id, pending: !lot.vested,
    vestsAt: lot.vests_at?.toISOString() ?? null, expiresAt: lot.expires_at?.toISOString() ?? null, reference: input.reference ?? null,
  });
  // Tiers qualify on points earned (never on the balance); cashback and other money wallets do not count.
  if (wallet.unit === 'points') {
    await recordPointsEarned(ctx, { memberId: input.memberId, operationId: op.id, amount: input.amount, reference: input.reference ?? null });
  }
  return { operation: operationView(op, wallet.code), lot: lotView(lot), balance: balanceOf(o) };
}

type EarnTarget = Pick<Open, 'wallet' | 'st' | 'accounts'>;

/** The rows of an earn at once, and where its points go; the member's balances move in `o` as if written. */
function planEarnAtOnce(ctx: LedgerContext, o: EarnTarget, input: EarnInput) {
  const { wallet } = o;
  invariant(earnsAtOnce(o), 'an earn at once credits a wallet that owes nothing');
  const { vested, vestsAt, expiresAt } = lotTerms(ctx, wallet, {
    pendingUntil: input.pendingUntil === undefined ? defaultVesting(ctx, wallet) : input.pendingUntil, expiresAt: input.expiresAt ?? null,
  });
  const operationId = timeOrderedId(ctx.now);
  const write: repo.EarnWrite = {
    operation: {
      id: operationId, ...ownerOf(ctx, o, input.memberId), amount: input.amount, actor: ctx.actor,
      ...referenceColumns(input.reference), description: input.description ?? null, metadata: input.metadata ?? {},
    },
    lot: { vested, vests_at: vestsAt, expires_at: expiresAt, created_at: ctx.now },
    debitAccountId: o.accounts.issued, creditAccountId: vested ? o.st.availableAccountId : o.st.pendingAccountId, memberWalletId: o.st.id,
    event: {
      type: 'points.earned',
      payload: {
        memberId: input.memberId, wallet: wallet.code, amount: input.amount, operationId, pending: !vested,
        vestsAt: vestsAt?.toISOString() ?? null, expiresAt: expiresAt?.toISOString() ?? null, reference: input.reference ?? null,
      },
    },
  };
  o.st[vested ? 'available' : 'pending'] += input.amount;
  return { write, walletCode: wallet.code, balance: balanceOf(o), counts: wallet.unit === 'points' };
}

/** The answer to an earn at once, from its plan and what the statement returned. */
function earnAtOnceView(ctx: LedgerContext, plan: ReturnType<typeof planEarnAtOnce>, written: { operation: repo.OperationRow; lotId: number }) {
  const { operation: op, lot: terms } = plan.write;
  const lot: LotRow = {
    id: written.lotId, program_id: ctx.program.id, wallet_id: op.wallet_id, member_id: op.member_id, operation_id: op.id,
    amount: op.amount, remaining: op.amount, ...terms,
  };
  return { operation: operationView(written.operation, plan.walletCode), lot: lotView(lot), balance: plan.balance };
}

async function earnAtOnce(ctx: LedgerContext, o: Open, input: EarnInput) {
  const plan = planEarnAtOnce(ctx, o, input);
  const written = await writeEarnsWithActivity(ctx, [{ ctx, input, plan }]);
  return earnAtOnceView(ctx, plan, written.get(plan.write.operation.id)!);
}

/**
 * writeEarns, with the earns' tier activity (points wallets only): in the same statement when the
 * program has no ladder, otherwise each member qualified after it.
 */
async function writeEarnsWithActivity(ctx: LedgerContext, plans: { ctx: LedgerContext; input: EarnInput; plan: ReturnType<typeof planEarnAtOnce> }[]) {
  const counting = plans.filter((p) => p.plan.counts).map(({ ctx: own, input, plan }) => ({
    actor: own.actor, memberId: input.memberId, operationId: plan.write.operation.id, amount: input.amount, reference: input.reference ?? null,
  }));
  const activity = counting.length > 0 ? await earnedActivityInsert(ctx, counting) : { rows: 0, insert: undefined };
  const { written, alongsideRows } = await repo.writeEarns(ctx.trx, plans.map((p) => p.plan.write), activity?.insert ? [activity.insert] : []);
  if (activity) invariant((alongsideRows[0] ?? 0) === activity.rows, 'each new earn is new tier activity');
  else await recordPointsEarnedMany(ctx, counting);
  return written;
}

export interface GroupedEarn {
  /** The request's place in its batch. */
  index: number;
  actor: string;
  input: EarnInput;
}

/**
 * The earns of a group commit (src/db/group-commit.ts), in one transaction: every earn the
 * single path would write in one statement is written here together — the member wallets locked
 * in one statement, every row in one more, the tier activity in one or two. Anything else (a
 * missing or blocked member, a wallet the member does not have yet, something due, a negative
 * balance, an inactivity clock) is answered SINGLE: it goes through earn() on its own, which
 * refuses or takes the step-by-step path exactly as it always does. An invalid earn is answered
 * with its 400 problem. Several earns of one member in a batch are applied in batch order, and
 * each answer shows the balance after it.
 */
export async function earnMany(ctx: LedgerContext, earns: GroupedEarn[]): Promise<Map<number, ReturnType<typeof earnAtOnceView> | typeof SINGLE | ProblemError>> {
  const planned = await planEarns(ctx, earns);
  const answers = new Map<number, ReturnType<typeof earnAtOnceView> | typeof SINGLE | ProblemError>(planned.answers);
  for (const [index, view] of await writePlannedEarns(ctx, planned.plans)) answers.set(index, view);
  return answers;
}

/** An earn of a batch, planned to be written together with the others (see earnMany). */
export interface PlannedEarn {
  e: GroupedEarn;
  ctx: LedgerContext;
  plan: ReturnType<typeof planEarnAtOnce>;
}

/**
 * The first half of earnMany: validates the earns, locks their member wallets and plans the ones
 * the single statement can write. The others are answered here (SINGLE or their 400 problem).
 * A caller may drop plans before writing them: dropping one of a member wallet's plans leaves the
 * balances shown by that wallet's later plans too high, so a caller drops a wallet's plans together.
 */
export async function planEarns(ctx: LedgerContext, earns: GroupedEarn[]) {
  const answers = new Map<number, typeof SINGLE | ProblemError>();
  const valid: GroupedEarn[] = [];
  for (const e of earns) {
    try {
      validateEarn(ctx, e.input);
      valid.push(e);
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      answers.set(e.index, error);
    }
  }
  const plans: PlannedEarn[] = [];
  if (valid.length === 0) return { answers, plans };
  const locked = await repo.lockMemberWalletsByCode(ctx.trx, ctx.program.id, valid.map((e) => ({ memberId: e.input.memberId, walletCode: e.input.wallet })), ctx.now);
  const targets = new Map<string, EarnTarget>();
  for (const e of valid) {
    const key = repo.walletKey(e.input.memberId, e.input.wallet);
    let target = targets.get(key);
    if (!target) {
      const found = locked.get(key);
      if (!found || found.status !== 'active' || found.state.due || !earnsAtOnce({ wallet: found.wallet, st: found.state })) {
        answers.set(e.index, SINGLE);
        continue;
      }
      target = { wallet: found.wallet, st: found.state, accounts: await accountsOf(ctx.trx, found.wallet.id) };
      targets.set(key, target);
    }
    const own = { ...ctx, actor: e.actor };
    plans.push({ e, ctx: own, plan: planEarnAtOnce(own, target, e.input) });
  }
  return { answers, plans };
}

/** The second half of earnMany: every planned earn in one statement (and its tier activity); each one's answer by its index. */
export async function writePlannedEarns(ctx: LedgerContext, plans: PlannedEarn[]): Promise<Map<number, ReturnType<typeof earnAtOnceView>>> {
  const views = new Map<number, ReturnType<typeof earnAtOnceView>>();
  if (plans.length === 0) return views;
  const written = await writeEarnsWithActivity(ctx, plans.map(({ e, ctx: own, plan }) => ({ ctx: own, input: e.input, plan })));
  for (const { e, ctx: own, plan } of plans) views.set(e.index, earnAtOnceView(own, plan, written.get(plan.write.operation.id)!));
  return views;
}

function defaultVesting(ctx: LedgerContext, wallet: Wallet): Date | null {
  return wallet.pending_days > 0 ? new Date(ctx.now.getTime() + wallet.pending_days * DAY_MS) : null;
}

/** A new lot's terms: vested now unless pending until a later instant; the given expiry or the wallet's policy. */
function lotTerms(ctx: LedgerContext, wallet: Wallet, options: { pendingUntil: Date | null; expiresAt: Date | null }) {
  const vested = !options.pendingUntil || options.pendingUntil <= ctx.now;
  return {
    vested,
    vestsAt: vested ? null : options.pendingUntil,
    expiresAt: options.expiresAt ?? policyExpiry({ kind: wallet.expiry_kind, count: wallet.expiry_count }, ctx.now, ctx.program.time_zone),
  };
}

async function createLot(
  ctx: LedgerContext, o: Open, operationId: string, amount: number, kind: EntryKind, debit: number,
  options: { pendingUntil: Date | null; expiresAt: Date | null },
): Promise<LotRow> {
  const { vested, vestsAt, expiresAt } = lotTerms(ctx, o.wallet, options);
  // Incoming vested points settle a negative balance (a clawback under allow_negative) first;
  // only the rest stays in the lot.
  const remaining = vested ? amount - Math.min(amount, Math.max(0, -o.st.available)) : amount;
  invariant(remaining >= 0 && remaining <= amount, `a new lot's remaining ${remaining} is within 0..${amount}`);
  const lot = await repo.insertLot(ctx.trx, {
    ...ownerOf(ctx, o), operation_id: operationId,
    amount, remaining, vested, vests_at: vestsAt, expires_at: expiresAt, created_at: ctx.now,
  });
  const credit = vested ? o.st.availableAccountId : o.st.pendingAccountId;
  await entry(ctx, o, { kind, operationId, amount, debit, credit, lot, lotDelta: remaining, lotInserted: true });
  return lot;
}

export interface SpendInput {
  memberId: string;
  wallet: string;
  amount: number;
  reference?: Reference | null;
  description?: string | null;
  metadata?: Record<string, unknown>;
}

function assertCovers(o: Open, amount: number) {
  if (o.st.available < amount) {
    throw new ProblemError('insufficient_points', `${amount} needed, ${Math.max(0, o.st.available)} available`, {
      available: Math.max(0, o.st.available), requested: amount,
    });
  }
}

export async function spend(ctx: LedgerContext, input: SpendInput) {
  assertAmount(input.amount);
  const o = await openByCode(ctx, input.memberId, input.wallet, true);
  const { wallet } = o;
  assertCovers(o, input.amount);
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, o, input.memberId), kind: 'spend', amount: input.amount,
    actor: ctx.actor, ...referenceColumns(input.reference), description: input.description ?? null, metadata: input.metadata,
  });
  const taken = await consumeLots(ctx, o, input.amount, op.id, 'spend', o.accounts.redeemed, true);
  count(o, 'spent', input.amount);
  o.activity = true;
  await flush(ctx, o);
  await recordEvent(ctx.trx, ctx.program.id, 'points.spent', input.memberId, {
    memberId: input.memberId, wallet: wallet.code, amount: input.amount, operationId: op.id, reference: input.reference ?? null,
  });
  return { operation: operationView(op, wallet.code), lots: taken.map((t) => ({ lotId: String(t.lot.id), amount: t.amount })), balance: balanceOf(o) };
}

export interface ReserveInput extends SpendInput {
  timeoutMs: number;
}

export async function reserve(ctx: LedgerContext, input: ReserveInput) {
  assertAmount(input.amount);
  const o = await openByCode(ctx, input.memberId, input.wallet, true);
  const { wallet } = o;
  assertCovers(o, input.amount);
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, o, input.memberId), kind: 'reserve', amount: input.amount,
    actor: ctx.actor, ...referenceColumns(input.reference), description: input.description ?? null, metadata: input.metadata,
  });
  const reservation = await repo.insertReservation(ctx.trx, {
    ...ownerOf(ctx, o, input.memberId), operation_id: op.id, amount: input.amount,
    expires_at: new Date(ctx.now.getTime() + input.timeoutMs), ...referenceColumns(input.reference), created_at: ctx.now,
  });
  await ctx.trx.updateTable('operations').set({ reservation_id: reservation.id }).where('id', '=', op.id).execute();
  await consumeLots(ctx, o, input.amount, op.id, 'reserve', o.st.reservedAccountId, true);
  await flush(ctx, o);
  await recordEvent(ctx.trx, ctx.program.id, 'reservation.created', input.memberId, {
    memberId: input.memberId, wallet: wallet.code, reservationId: reservation.id, amount: input.amount,
  });
  return { reservation: reservationView(reservation, wallet.code), balance: balanceOf(o) };
}

async function openReservation(ctx: LedgerContext, reservationId: string, requireActive: boolean) {
  const found = await repo.findReservation(ctx.trx, ctx.program.id, reservationId);
  if (!found) throw new ProblemError('reservation_not_found');
  // Posting spends the points, which a blocked member cannot do; voiding only gives them back.
  if (requireActive) await memberOf(ctx, found.member_id, true);
  const wallet = await walletById(ctx, found.wallet_id);
  const o = await open(ctx, found.member_id, wallet);
  // settleDue may just have timed it out: read it again under the member lock.
  const reservation = await repo.lockReservation(ctx.trx, reservationId);
  if (reservation.status !== 'pending') {
    throw new ProblemError('reservation_not_pending', `reservation ${reservationId} is ${reservation.status}`, { reservationStatus: reservation.status });
  }
  return { o, reservation, wallet };
}

export async function postReservation(ctx: LedgerContext, input: { reservationId: string; amount?: number; reference?: Reference | null }) {
  if (input.amount !== undefined) assertAmount(input.amount);
  const { o, reservation, wallet } = await openReservation(ctx, input.reservationId, true);
  const amount = input.amount ?? reservation.amount;
  if (amount > reservation.amount) {
    throw new ProblemError('amount_exceeds_reservation', `${amount} exceeds the ${reservation.amount} reserved`, { reserved: reservation.amount });
  }
  const reference = input.reference ?? (reservation.reference_type && reservation.reference_id ? { type: reservation.reference_type, id: reservation.reference_id } : null);
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, o, reservation.member_id), kind: 'post', amount,
    actor: ctx.actor, reservation_id: reservation.id, target_operation_id: reservation.operation_id, ...referenceColumns(reference),
  });
  await entry(ctx, o, { kind: 'post', operationId: op.id, amount, debit: o.st.reservedAccountId, credit: o.accounts.redeemed });
  if (amount < reservation.amount) {
    await releaseAllocations(ctx, o, reservation.operation_id, reservation.amount - amount, op.id, 'release', o.st.reservedAccountId);
  }
  await repo.resolveReservation(ctx.trx, reservation.id, { status: 'posted', resolved_at: ctx.now, posted_amount: amount, post_operation_id: op.id });
  count(o, 'spent', amount);
  o.activity = true;
  await expireNowDueLots(ctx, o);
  await flush(ctx, o);
  await recordEvent(ctx.trx, ctx.program.id, 'points.spent', reservation.member_id, {
    memberId: reservation.member_id, wallet: wallet.code, amount, operationId: op.id, reservationId: reservation.id, reference,
  });
  const updated = await repo.lockReservation(ctx.trx, reservation.id);
  return { operation: operationView(op, wallet.code), reservation: reservationView(updated, wallet.code), balance: balanceOf(o) };
}

export async function voidReservation(ctx: LedgerContext, input: { reservationId: string }) {
  const { o, reservation, wallet } = await openReservation(ctx, input.reservationId, false);
  const { op } = await releaseReservation(ctx, o, reservation, 'voided');
  await expireNowDueLots(ctx, o);
  await flush(ctx, o);
  const updated = await repo.lockReservation(ctx.trx, reservation.id);
  return { operation: operationView(op, wallet.code), reservation: reservationView(updated, wallet.code), balance: balanceOf(o) };
}

export async function getReservation(ctx: LedgerContext, reservationId: string) {
  const found = await repo.findReservation(ctx.trx, ctx.program.id, reservationId);
  if (!found) throw new ProblemError('reservation_not_found');
  const wallet = await walletById(ctx, found.wallet_id);
  if (found.status === 'pending' && found.expires_at <= ctx.now) {
    // A timed-out reservation is released on read, so no client ever sees a stale hold.
    await open(ctx, found.member_id, wallet);
    return reservationView(await repo.lockReservation(ctx.trx, reservationId), wallet.code);
  }
  return reservationView(found, wallet.code);
}

/** Reads a reverse or restore target, then locks its member's wallet before locking the target itself. */
async function openTarget(ctx: LedgerContext, operationId: string, kinds: readonly string[], wrongKind: 'not_an_earn' | 'not_a_spend') {
  // Member wallet first, operation row second: the order every other operation uses (a vest
  // writes an entry referencing the earn's row), so a refund and a spend on one member cannot
  // deadlock. An operation's kind, wallet and member never change, so the unlocked read is safe.
  const found = await repo.findOperation(ctx.trx, ctx.program.id, operationId);
  if (!found) throw new ProblemError('operation_not_found');
  if (!kinds.includes(found.kind)) throw new ProblemError(wrongKind, `operation ${found.id} is a ${found.kind}`, { kind: found.kind });
  const wallet = await walletById(ctx, found.wallet_id);
  invariant(found.member_id, `${found.kind} ${found.id} has a member`);
  const o = await open(ctx, found.member_id, wallet);
  const target = await repo.lockOperation(ctx.trx, ctx.program.id, operationId);
  invariant(target, `operation ${operationId} still exists`);
  return { o, target, wallet, memberId: found.member_id };
}

export async function reverse(ctx: LedgerContext, input: { operationId: string; amount?: number; reference?: Reference | null; description?: string | null }) {
  if (input.amount !== undefined) assertAmount(input.amount);
  const { o, target, wallet, memberId } = await openTarget(ctx, input.operationId, ['earn'], 'not_an_earn');
  const reversible = target.amount - target.reversed;
  const requested = input.amount ?? reversible;
  if (requested > reversible || requested === 0) {
    throw new ProblemError('reversal_exceeds_earn', `${requested} requested, ${reversible} of ${target.amount} left to reverse`, {
      reversible, earned: target.amount,
    });
  }
  const [lot] = await repo.lotsOfOperation(ctx.trx, target.id);
  invariant(lot, `earn ${target.id} has its lot`);
  const expiredUncounted = (await repo.expiredFromLot(ctx.trx, lot.id)) - (await repo.expiryCountedByReversals(ctx.trx, target.id));
  invariant(expiredUncounted >= 0, `reversals of ${target.id} counted no more expiry than its lot had`);
  const plan = planReversal({
    requested,
    lotRemaining: lot.remaining,
    expiredUncounted,
    otherAvailable: Math.max(0, o.st.available - (lot.vested ? lot.remaining : 0)),
    policy: ctx.program.reversal_policy,
  });
  const taken = plan.fromLot + plan.fromOthers + plan.debt;
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, o, memberId), kind: 'reverse', amount: taken,
    actor: ctx.actor, target_operation_id: target.id, ...referenceColumns(input.reference), description: input.description ?? null,
    metadata: { requested, alreadyExpired: plan.alreadyExpired, forgiven: plan.forgiven },
  });
  if (plan.fromLot > 0) {
    const debit = lot.vested ? o.st.availableAccountId : o.st.pendingAccountId;
    await entry(ctx, o, { kind: 'reverse', operationId: op.id, amount: plan.fromLot, debit, credit: o.accounts.reversed, lot, lotDelta: -plan.fromLot });
  }
  if (plan.fromOthers > 0) await consumeLots(ctx, o, plan.fromOthers, op.id, 'reverse', o.accounts.reversed, false);
  if (plan.debt > 0) {
    await entry(ctx, o, { kind: 'reverse', operationId: op.id, amount: plan.debt, debit: o.st.availableAccountId, credit: o.accounts.reversed });
  }
  await repo.addToOperation(ctx.trx, target.id, 'reversed', requested);
  count(o, 'reversed', taken);
  await flush(ctx, o);
  await recordEvent(ctx.trx, ctx.program.id, 'points.reversed', memberId, {
    memberId, wallet: wallet.code, amount: taken, alreadyExpired: plan.alreadyExpired, forgiven: plan.forgiven,
    operationId: op.id, earnOperationId: target.id, reference: input.reference ?? null,
  });
  // A refund lowers the tier metric by what the earn counted for, in the earn's window.
  await recordPointsReversed(ctx, { memberId, earnOperationId: target.id, reverseOperationId: op.id, amount: requested });
  return { operation: operationView(op, wallet.code), alreadyExpired: plan.alreadyExpired, forgiven: plan.forgiven, balance: balanceOf(o) };
}

export async function restore(ctx: LedgerContext, input: { operationId: string; amount?: number; reference?: Reference | null; description?: string | null }) {
  if (input.amount !== undefined) assertAmount(input.amount);
  const { o, target, wallet, memberId } = await openTarget(ctx, input.operationId, ['spend', 'post'], 'not_a_spend');
  const restorable = target.amount - target.restored;
  const requested = input.amount ?? restorable;
  if (requested > restorable || requested === 0) {
    throw new ProblemError('restore_exceeds_spend', `${requested} requested, ${restorable} of ${target.amount} left to restore`, {
      restorable, spent: target.amount,
    });
  }
  let allocationOperationId = target.id;
  if (target.kind === 'post') {
    const reservation = await repo.findReservationByPost(ctx.trx, target.id);
    invariant(reservation, `post ${target.id} belongs to a reservation`);
    allocationOperationId = reservation.operation_id;
  }
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, o, memberId), kind: 'restore', amount: requested,
    actor: ctx.actor, target_operation_id: target.id, ...referenceColumns(input.reference), description: input.description ?? null,
  });
  await releaseAllocations(ctx, o, allocationOperationId, requested, op.id, 'restore', o.accounts.redeemed);
  // Points given back to lots whose expiry has passed expire again at once: a refund restores
  // what the member would have had, not fresh points.
  await expireNowDueLots(ctx, o);
  await repo.addToOperation(ctx.trx, target.id, 'restored', requested);
  count(o, 'restored', requested);
  await flush(ctx, o);
  await recordEvent(ctx.trx, ctx.program.id, 'points.restored', memberId, {
    memberId, wallet: wallet.code, amount: requested, operationId: op.id, spendOperationId: target.id,
    reference: input.reference ?? null,
  });
  return { operation: operationView(op, wallet.code), balance: balanceOf(o) };
}

export async function adjust(ctx: LedgerContext, input: { memberId: string; wallet: string; amount: number; reason: string; expiresAt?: Date | null; reference?: Reference | null }) {
  if (!Number.isSafeInteger(input.amount) || input.amount === 0) {
    throw new ProblemError('validation_failed', 'amount must be a non-zero integer: positive to add, negative to remove');
  }
  if (input.amount > 0 && input.expiresAt && input.expiresAt <= ctx.now) {
    throw new ProblemError('validation_failed', 'expiresAt must be in the future', { field: 'expiresAt' });
  }
  const o = await openByCode(ctx, input.memberId, input.wallet, false);
  const { wallet } = o;
  const magnitude = Math.abs(input.amount);
  if (input.amount < 0) assertCovers(o, magnitude);
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, o, input.memberId), kind: 'adjust', amount: magnitude,
    actor: ctx.actor, reason: input.reason, ...referenceColumns(input.reference), metadata: { direction: input.amount > 0 ? 'credit' : 'debit' },
  });
  if (input.amount > 0) {
    await createLot(ctx, o, op.id, magnitude, 'adjust', o.accounts.adjusted, { pendingUntil: null, expiresAt: input.expiresAt ?? null });
    count(o, 'adjusted_in', magnitude);
  } else {
    await consumeLots(ctx, o, magnitude, op.id, 'adjust', o.accounts.adjusted, true);
    count(o, 'adjusted_out', magnitude);
  }
  await flush(ctx, o);
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'points.adjusted', subject_type: 'member', subject_id: input.memberId,
    details: { wallet: wallet.code, amount: input.amount, reason: input.reason, operationId: op.id },
  });
  await recordEvent(ctx.trx, ctx.program.id, 'points.adjusted', input.memberId, {
    memberId: input.memberId, wallet: wallet.code, amount: input.amount, reason: input.reason, operationId: op.id,
  });
  return { operation: operationView(op, wallet.code), balance: balanceOf(o) };
}

export async function transfer(ctx: LedgerContext, input: { fromMemberId: string; toMemberId: string; wallet: string; amount: number; description?: string | null; reference?: Reference | null }) {
  assertAmount(input.amount);
  if (input.fromMemberId === input.toMemberId) throw new ProblemError('transfer_to_self');
  const wallet = await walletByCode(ctx, input.wallet);
  await memberOf(ctx, input.fromMemberId, true);
  await memberOf(ctx, input.toMemberId, true);
  // Lock both wallets in a fixed order so that opposite transfers cannot deadlock.
  const [first, second] = [input.fromMemberId, input.toMemberId].sort();
  const firstOpen = await open(ctx, first!, wallet);
  const secondOpen = await open(ctx, second!, wallet);
  const from = first === input.fromMemberId ? firstOpen : secondOpen;
  const to = first === input.fromMemberId ? secondOpen : firstOpen;
  assertCovers(from, input.amount);
  const op = await repo.insertOperation(ctx.trx, {
    ...ownerOf(ctx, from, input.fromMemberId), counterpart_member_id: ownerOf(ctx, to, input.toMemberId).member_id,
    kind: 'transfer', amount: input.amount, actor: ctx.actor, ...referenceColumns(input.reference), description: input.description ?? null,
  });
  const taken = await consumeLots(ctx, from, input.amount, op.id, 'transfer', from.accounts.transfers, true);
  // The receiver's lots keep the source lots' expiry: a transfer never makes points younger.
  for (const t of taken) {
    const lot = await repo.insertLot(ctx.trx, {
      ...ownerOf(ctx, to, input.toMemberId), operation_id: op.id,
      amount: t.amount, remaining: 0, vested: true, vests_at: null, expires_at: t.lot.expires_at, created_at: ctx.now,
    });
    await creditAvailable(ctx, to, 'transfer', op.id, lot, t.amount, to.accounts.transfers);
  }
  count(from, 'transferred_out', input.amount);
  count(to, 'transferred_in', input.amount);
  from.activity = true;
  to.activity = true;
  await flush(ctx, from);
  await flush(ctx, to);
  await recordEvent(ctx.trx, ctx.program.id, 'points.transferred', input.fromMemberId, {
    fromMemberId: input.fromMemberId, toMemberId: input.toMemberId, wallet: wallet.code, amount: input.amount, operationId: op.id,
  });
  return { operation: operationView(op, wallet.code), from: balanceOf(from), to: balanceOf(to) };
}

/** Vests, expires and times out whatever is due for one member, in every wallet they hold. */
export async function settleMember(ctx: LedgerContext, memberId: string): Promise<{ lotsExpired: number; pointsExpired: number }> {
  const result = { lotsExpired: 0, pointsExpired: 0 };
  for (const { wallet_id } of await repo.findMemberWalletIds(ctx.trx, memberId)) {
    const o = await open(ctx, memberId, await walletById(ctx, wallet_id));
    result.lotsExpired += o.expiredOnOpen.lots;
    result.pointsExpired += o.expiredOnOpen.points;
  }
  return result;
}

export async function getOperation(ctx: LedgerContext, operationId: string) {
  const op = await repo.findOperation(ctx.trx, ctx.program.id, operationId);
  if (!op) throw new ProblemError('operation_not_found');
  const wallet = await walletById(ctx, op.wallet_id);
  const entries = await repo.entriesOfOperation(ctx.trx, op.id);
  return {
    ...operationView(op, wallet.code),
    entries: entries.map((e) => ({ id: String(e.id), kind: e.kind, amount: e.amount, lotId: e.lot_id === null ? null : String(e.lot_id), createdAt: e.created_at.toISOString() })),
  };
}
