import { databaseNow, type Db } from '../db/database.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { settleMember } from './ledger-operations.ts';
import { expireDueLotsBatch, membersWithDueSettlement } from './maintenance-repository.ts';

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
 */
export async function runDueMaintenance(
  db: Db,
  options: { programId?: string; batchSize?: number; clock?: () => Date | undefined } = {},
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
      const settled = await inTransaction(db, async (trx) => {
        const program = await trx.selectFrom('programs').select(['id', 'time_zone', 'reversal_policy']).where('id', '=', member.program_id).executeTakeFirstOrThrow();
        return settleMember({ trx, program, now, actor: 'system' }, member.member_id);
      });
      result.lotsExpired += settled.lotsExpired;
      result.pointsExpired += settled.pointsExpired;
    }
  }

  for (;;) {
    const batch = await inTransaction(db, (trx) => expireDueLotsBatch(trx, { programId: options.programId, now, batchSize }));
    if (batch.lots === 0) break;
    result.lotsExpired += batch.lots;
    result.pointsExpired += batch.points;
    result.members += batch.members;
  }
  result.members += settledMembers.size;
  return result;
}
