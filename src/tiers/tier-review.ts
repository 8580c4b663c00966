import { databaseNow, planEachExecution, type Db } from '../db/database.ts';
import { invariant } from '../http/error-codes.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { loadLadder, processDue, tierContext } from './tier-operations.ts';
import { listLadderPrograms, lockDueBatch, shareLadder } from './tier-repository.ts';
import { restoreForeignKeyChecks, skipForeignKeyChecks } from '../db/foreign-key-repository.ts';
import { notifyWorker } from '../events/event-repository.ts';

export interface TierReviewResult {
  programId: string;
  now: string;
  batches: number;
  /** Member rows processed (a member whose reviews were years late counts once per review). */
  members: number;
  reviewed: number;
  graceStarted: number;
  upgraded: number;
  downgraded: number;
  /** True when maxBatches stopped the run before everything due was done. */
  stoppedEarly: boolean;
}

/**
 * Reviews a program's tiers: every member whose review, grace period, lock, floor, invitation or
 * paid membership is due at `now`. Each batch is one transaction of set-based statements, so a
 * crash loses at most the batch in flight and the next run resumes with what is still due.
 * Idempotent: a review judges the window that ends at the member's scheduled review date, then
 * schedules the next one, so running again (or late, or twice at once — rows locked by another
 * run are skipped) changes nothing more. Loops until nothing is due.
 */
export async function reviewTiers(
  db: Db,
  options: { programId: string; now?: Date; batchSize?: number; maxBatches?: number; concurrency?: number },
): Promise<TierReviewResult> {
  const now = options.now ?? (await databaseNow(db));
  const batchSize = options.batchSize ?? 20_000;
  const result: TierReviewResult = {
    programId: options.programId, now: now.toISOString(), batches: 0, members: 0, reviewed: 0, graceStarted: 0, upgraded: 0, downgraded: 0, stoppedEarly: false,
  };
  let started = 0;
  // Several batch loops at once (the database does the work; SKIP LOCKED keeps their batches
  // disjoint), each stopping when it finds nothing due and unlocked.
  const loop = async () => {
    let previousHead: string | null = null;
    for (;;) {
      if (options.maxBatches !== undefined && started >= options.maxBatches) {
        result.stoppedEarly = true;
        return;
      }
      started += 1;
      const outcome = await inTransaction(db, async (trx) => {
        // The ladder before the rows, as a ladder change takes them: its tiers stay while we work.
        await shareLadder(trx, options.programId);
        const batch = await lockDueBatch(trx, options.programId, now, batchSize);
        if (batch.length === 0) return null;
        const ladder = await loadLadder(trx, options.programId);
        invariant(ladder, `program ${options.programId} with due tier rows has a ladder`);
        const ctx = await tierContext(trx, options.programId, now, 'system');
        await planEachExecution(trx);
        // The set-based statements write references only to rows that stay: the members (never
        // deleted), the program, and tiers of the ladder we hold shared. So PostgreSQL's per-row
        // foreign-key checks may go where allowed — a quarter of a batch's time, most of it the
        // second update of rows the review just updated, which PostgreSQL always checks. They are
        // back on before the entry rewards go through the ledger. events_notify is then silent:
        // the batch wakes the outbox dispatcher itself.
        const relaxed = await skipForeignKeyChecks(trx, {
          inserts: ['events', 'member_tier_history', 'tier_first_reached'], updates: ['member_tiers'], firedByCaller: ['events_notify'],
        });
        const processed = await processDue(ctx, ladder, batch.map((b) => b.member_id), relaxed ? () => restoreForeignKeyChecks(trx) : undefined);
        if (relaxed && (processed.changes.length > 0 || processed.graceStarted > 0)) await notifyWorker(trx, 'outbox');
        return { batch, processed };
      });
      if (!outcome) {
        started -= 1;
        return;
      }
      // Every pass moves each processed row's due date forward; the same head twice means a row
      // that nothing can move, and looping on it forever would hide the bug.
      const head = `${outcome.batch[0]!.member_id}@${outcome.batch[0]!.due_at.toISOString()}`;
      invariant(head !== previousHead, `tier review made no progress on member ${outcome.batch[0]!.member_id}`);
      previousHead = head;
      result.batches += 1;
      result.members += outcome.batch.length;
      result.reviewed += outcome.processed.reviewed;
      result.graceStarted += outcome.processed.graceStarted;
      for (const c of outcome.processed.changes) {
        if (c.direction === 'up') result.upgraded += 1;
        else result.downgraded += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, loop));
  return result;
}

/** Reviews every program that has a tier ladder (the scheduled job). */
export async function reviewAllTiers(db: Db, options: { now?: Date; batchSize?: number } = {}): Promise<TierReviewResult[]> {
  const now = options.now ?? (await databaseNow(db));
  const results: TierReviewResult[] = [];
  for (const programId of await listLadderPrograms(db)) results.push(await reviewTiers(db, { programId, now, batchSize: options.batchSize }));
  return results;
}
