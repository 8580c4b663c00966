import type { Task, TaskList } from 'graphile-worker';
import { databaseNow, type Db, type Tx } from '../db/database.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { expireVoucher } from './redemption-operations.ts';
import * as repo from './reward-repository.ts';
import { issueThresholdNotes } from './threshold-notes.ts';
import { openLedgerContext } from '../ledger/ledger-context.ts';

interface JobOptions {
  programId?: string;
  batchSize?: number;
  clock?: () => Date | undefined;
}

function contextFor(trx: Tx, programId: string, now: Date): Promise<LedgerContext> {
  return openLedgerContext(trx, programId, 'system', () => now);
}

/**
 * Ends every unused voucher past its validity, refunding points where the reward says so. One
 * transaction per voucher, so a crash loses nothing; a voucher already handled is skipped, so
 * overlapping runs are harmless. Loops until nothing is due: no cap per run.
 */
export async function expireDueVouchers(db: Db, options: JobOptions = {}) {
  const now = options.clock?.() ?? (await databaseNow(db));
  const result = { vouchersExpired: 0, pointsRefunded: 0 };
  const seen = new Set<string>();
  for (;;) {
    const due = (await repo.dueVouchers(db, { programId: options.programId, now, limit: options.batchSize ?? 1_000 })).filter((v) => !seen.has(v.id));
    if (due.length === 0) break;
    for (const v of due) {
      seen.add(v.id);
      const r = await inTransaction(db, async (trx) => expireVoucher(await contextFor(trx, v.program_id, now), v.id));
      if (r.expired) result.vouchersExpired++;
      result.pointsRefunded += r.refunded;
    }
  }
  return result;
}

/**
 * Issues automatic notes to every member whose balance reached a threshold, whatever path the
 * points came by (orders, imports, adjustments). Batches by member id; one transaction per member.
 */
export async function issueDueThresholdNotes(db: Db, options: JobOptions = {}) {
  const now = options.clock?.() ?? (await databaseNow(db));
  const result = { members: 0, notesIssued: 0 };
  let after: string | undefined;
  for (;;) {
    const batch = await repo.membersOverThreshold(db, { programId: options.programId, afterMemberId: after, limit: options.batchSize ?? 1_000 });
    if (batch.length === 0) break;
    for (const m of batch) {
      const notes = await inTransaction(db, async (trx) => issueThresholdNotes(await contextFor(trx, m.program_id, now), m.member_id));
      result.members++;
      result.notesIssued += notes.length;
    }
    after = batch[batch.length - 1]!.member_id;
  }
  return result;
}

export async function runRewardsMaintenance(db: Db, options: JobOptions = {}) {
  const expiry = await expireDueVouchers(db, options);
  const notes = await issueDueThresholdNotes(db, options);
  return { ...expiry, ...notes };
}

/** Tasks for graphile-worker (src/jobs/worker.ts). */
export function rewardTasks(db: Db, options: { clock?: () => Date | undefined } = {}): TaskList {
  const maintenance: Task = async (_payload, helpers) => {
    const result = await runRewardsMaintenance(db, { clock: options.clock });
    if (result.vouchersExpired > 0 || result.notesIssued > 0) helpers.logger.info(`rewards maintenance: ${JSON.stringify(result)}`);
  };
  // Enqueue after an earn: { programId, memberId }. Uses a job key per member so bursts coalesce.
  const thresholdNotes: Task = async (payload) => {
    const { programId, memberId } = payload as { programId: string; memberId: string };
    const now = options.clock?.() ?? (await databaseNow(db));
    await inTransaction(db, async (trx) => issueThresholdNotes(await contextFor(trx, programId, now), memberId));
  };
  return { rewards_maintenance: maintenance, rewards_threshold_notes: thresholdNotes };
}

// Voucher expiry and the threshold sweep are idempotent, so a doubled or late run changes nothing.
export const REWARDS_CRONTAB = '*/5 * * * * rewards_maintenance ?max=1&jobKey=rewards_maintenance&fill=1h';
