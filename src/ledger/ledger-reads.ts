import { invariant, ProblemError } from '../http/error-codes.ts';
import type { Executor } from '../db/database.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { listWallets } from '../programs/program-repository.ts';
import { settleMember, type LedgerContext } from './ledger-operations.ts';
import * as repo from './ledger-repository.ts';
import { lotView } from './ledger-views.ts';
import { decodeIdCursor } from '../http/cursor.ts';

async function requireMember(ctx: LedgerContext, memberId: string) {
  const member = await findMemberRow(ctx.trx, ctx.program.id, memberId);
  if (!member) throw new ProblemError('member_not_found');
  return member;
}

/** Reads never show stale balances: whatever became due (vesting, expiry, timeouts) is settled first. */
async function settled(ctx: LedgerContext, memberId: string) {
  await requireMember(ctx, memberId);
  if (await repo.hasDueWork(ctx.trx, memberId, ctx.now)) await settleMember(ctx, memberId);
}

function balanceViews(rows: repo.WalletBalanceRow[]) {
  return rows.filter((row) => row.wallet_code !== null).map((row) => ({
    wallet: row.wallet_code!,
    unit: row.unit!,
    available: row.available ?? 0,
    pending: row.pending ?? 0,
    reserved: row.reserved ?? 0,
    lifetime: {
      earned: row.earned ?? 0, spent: row.spent ?? 0, expired: row.expired ?? 0, reversed: row.reversed ?? 0,
      restored: row.restored ?? 0, adjustedIn: row.adjusted_in ?? 0, adjustedOut: row.adjusted_out ?? 0,
      transferredIn: row.transferred_in ?? 0, transferredOut: row.transferred_out ?? 0,
    },
    nextExpirations: row.next.map(([atMs, amount]) => ({ amount, expiresAt: new Date(atMs).toISOString() })),
    lastActivityAt: row.last_activity_at?.toISOString() ?? null,
  }));
}

type BalanceViews = ReturnType<typeof balanceViews>;
/** A member's answer from the hot read: its balances, 'due' (settle first), or a problem. */
export type SettledBalances = BalanceViews | 'due' | ProblemError;

/** Each member's balances, in the order asked: its views, or whether it is missing or has something due. */
async function snapshots(db: Executor, programId: string, memberIds: string[], at: Date | undefined) {
  const rows = await repo.balanceSnapshots(db, programId, memberIds, at);
  const byOrdinal = memberIds.map((): repo.WalletBalanceRow[] => []);
  for (const row of rows) byOrdinal[row.ordinal - 1]!.push(row);
  return byOrdinal.map((own) => {
    invariant(own.length > 0, 'a balance snapshot answers every member asked for');
    return { found: own[0]!.found, due: own[0]!.due, views: balanceViews(own) };
  });
}

/** The member's balances in one statement; `due` when something must be settled first. */
async function snapshot(db: Executor, programId: string, memberId: string, at: Date | undefined) {
  const [one] = await snapshots(db, programId, [memberId], at);
  if (!one!.found) throw new ProblemError('member_not_found');
  return one!;
}

/** In the caller's transaction: settles what is due (vesting, expiry, timeouts) only when the snapshot says so. */
export async function balances(ctx: LedgerContext, memberId: string) {
  const first = await snapshot(ctx.trx, ctx.program.id, memberId, ctx.now);
  if (!first.due) return first.views;
  await settleMember(ctx, memberId);
  return (await snapshot(ctx.trx, ctx.program.id, memberId, ctx.now)).views;
}

/**
 * The hot read: one statement for any number of members, no transaction. Per member, in the
 * order asked: its balances when nothing is due by `at` (the database clock when undefined),
 * `due` when something is (the caller then reads it through balances(), in a transaction), or a
 * member_not_found problem.
 */
export async function balancesIfSettled(db: Executor, programId: string, memberIds: string[], at: Date | undefined): Promise<SettledBalances[]> {
  return (await snapshots(db, programId, memberIds, at)).map((s) => (!s.found ? new ProblemError('member_not_found') : s.due ? 'due' : s.views));
}

export function pickWallet<T extends { wallet: string }>(all: T[], walletCode: string): T {
  const found = all.find((b) => b.wallet === walletCode);
  if (!found) throw new ProblemError('wallet_not_found', `no wallet "${walletCode}" in this program`);
  return found;
}

export async function balance(ctx: LedgerContext, memberId: string, walletCode: string) {
  return pickWallet(await balances(ctx, memberId), walletCode);
}

async function walletIdOf(ctx: LedgerContext, code: string) {
  const wallet = (await listWallets(ctx.trx, ctx.program.id)).find((w) => w.code === code);
  if (!wallet) throw new ProblemError('wallet_not_found', `no wallet "${code}" in this program`);
  return wallet.id;
}

export async function history(ctx: LedgerContext, memberId: string, query: { wallet?: string; cursor?: string; limit?: number }) {
  await settled(ctx, memberId);
  const limit = query.limit ?? 50;
  const beforeId = decodeIdCursor(query.cursor);
  const rows = await repo.listEntries(ctx.trx, memberId, {
    walletId: query.wallet ? await walletIdOf(ctx, query.wallet) : undefined,
    beforeId,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const side = (kind: string, owner: string | null) => (owner === null ? `program:${kind}` : owner === memberId ? `member:${kind}` : `member:${kind}:${owner}`);
  return {
    data: page.map((e) => ({
      id: String(e.id),
      kind: e.kind,
      wallet: e.wallet,
      amount: e.amount,
      from: side(e.debit_kind, e.debit_member_id),
      to: side(e.credit_kind, e.credit_member_id),
      availableDelta:
        (e.credit_kind === 'available' && e.credit_member_id === memberId ? e.amount : 0) -
        (e.debit_kind === 'available' && e.debit_member_id === memberId ? e.amount : 0),
      lotId: e.lot_id === null ? null : String(e.lot_id),
      lotDelta: e.lot_delta,
      operationId: e.operation_id,
      operationKind: e.operation_kind ?? null,
      reference: e.reference_type && e.reference_id ? { type: e.reference_type, id: e.reference_id } : null,
      actor: e.actor ?? (e.kind === 'expire' || e.kind === 'vest' ? 'system' : null),
      description: e.description ?? null,
      reason: e.reason ?? null,
      createdAt: e.created_at.toISOString(),
    })),
    nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
  };
}

export async function lots(ctx: LedgerContext, memberId: string, walletCode: string, includeEmpty: boolean) {
  await settled(ctx, memberId);
  const rows = await repo.listLots(ctx.trx, memberId, await walletIdOf(ctx, walletCode), includeEmpty);
  return rows.map((l) => lotView(l as repo.LotRow));
}
