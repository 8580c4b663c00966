import { databaseNow, type Db } from '../db/database.ts';
import { skipForeignKeyChecks } from '../db/foreign-key-repository.ts';
import { notifyWorker } from '../events/event-repository.ts';
import { invariant } from '../http/error-codes.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { settleMember } from './ledger-operations.ts';
import { expireDueLotsBatch, membersWithDueSettlement } from './maintenance-repository.ts';
import { openLedgerContext } from './ledger-context.ts';

export interface MaintenanceResult {
  members: number;
  lotsExpired: number;
  pointsExpired: number;
}

/**
 * Vests, times out and expires everything due, in batches, each batch its own transaction: a
 * crash loses at most the batch in flight, which the next run redoes (every step only acts on
 * what is still due, so running twice or concurrently is harmless). There is no cap on the
 * number of lots per run; it loops until nothing is due.
 *
 * Expiry runs `workers` batches at a time (default 2), each on its own connection: a batch is
 * CPU-bound in one PostgreSQL backend, and concurrent batches take disjoint member wallets (see
 * expireDueLotsBatch), so they neither wait for nor deadlock with each other.
 */
export async function runDueMaintenance(
  db: Db,
  options: { programId?: string; batchSize?: number; workers?: number; clock?: () => Date | undefined } = {},
): Promise<MaintenanceResult> {
  const batchSize = options.batchSize ?? 5_000;
  const now = options.clock?.() ?? (await databaseNow(db));
  const result: MaintenanceResult = { members: 0, lotsExpired: 0, pointsExpired: 0 };
  const settledMembers = new Set<string>();

  // Vesting first (it may settle a negative balance), and reservation timeouts (which give
  // points back to lots that may themselves be due to expire).
  for (;;) {
    const due = (await membersWithDueSettlement(db, { programId: options.programId, now, limit: batchSize })).filter((m) => !settledMembers.has(m.member_id));
    if (due.length === 0) break;
    for (const member of due) {
      settledMembers.add(member.member_id);
      const settled = await inTransaction(db, async (trx) => settleMember(await openLedgerContext(trx, member.program_id, 'system', () => now), member.member_id));
      result.lotsExpired += settled.lotsExpired;
      result.pointsExpired += settled.pointsExpired;
    }
  }

  // A worker stops when its batch takes no member: what is left due is then locked by running
  // operations (which settle it themselves) or by the other worker's batch in flight. A batch can
  // take members and find nothing due: its walk began before the other worker committed the
  // expiry of those very members (their wallets were unlocked by then). That says nothing about
  // what is left, so the worker goes on; stopping there left one worker doing the rest alone.
  const expire = async () => {
    // Only a stale snapshot makes a batch find nothing in what it took, and the next statement's
    // is fresh; a run of them would mean a walk that cannot move, which must end, not spin.
    for (let fruitless = 0; fruitless < 3;) {
      const batch = await inTransaction(db, async (trx) => {
        // Every reference an expiry writes is to a row the batch has just locked (the lot, the
        // member's wallet and accounts) or read (the wallet's expired account), so PostgreSQL's
        // per-row foreign-key checks may go — about half of a batch's cost — where allowed.
        // events_notify is then silent: the batch wakes the outbox dispatcher itself.
        const relaxed = await skipForeignKeyChecks(trx, { inserts: ['entries', 'events'], updates: ['lots', 'accounts', 'member_wallets'], firedByCaller: ['events_notify'] });
        const expired = await expireDueLotsBatch(trx, { programId: options.programId, now, batchSize });
        invariant(
          expired.lots_updated === expired.lots && expired.entries === expired.lots && expired.balances <= expired.lots && expired.counters === expired.members,
          'an expiry batch writes one lot update and one entry per lot, and one counter per member wallet',
        );
        if (relaxed && expired.members > 0) await notifyWorker(trx, 'outbox');
        return expired;
      });
      if (batch.taken === 0) break;
      fruitless = batch.lots === 0 ? fruitless + 1 : 0;
      result.lotsExpired += batch.lots;
      result.pointsExpired += batch.points;
      result.members += batch.members;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.workers ?? 2) }, expire));
  result.members += settledMembers.size;
  return result;
}
