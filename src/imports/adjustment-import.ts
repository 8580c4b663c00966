import { timeOrderedId } from '../shared/time-ordered-id.ts';
import { databaseNow, type Db } from '../db/database.ts';
import { refreshStatisticsAfterBulkWrite } from '../db/statistics-repository.ts';
import { recordEvent } from '../events/event-repository.ts';
import { ProblemError } from '../http/error-codes.ts';
import { adjust, type LedgerContext } from '../ledger/ledger-operations.ts';
import { insertAuditEvent } from '../programs/program-repository.ts';
import {
  adjustmentColumns, rawAdjustmentFromCsv, rawAdjustmentFromJson, validateAdjustmentRow,
  type AdjustmentRow, type RawAdjustment,
} from './adjustment-rows.ts';
import * as repo from './import-repository.ts';
import { csvRecords, ndjsonLines, textChunks } from './import-source.ts';
import {
  assertBatchKey, ErrorCollector, loadImportProgram, recordRolledBackBatch, RollbackWith,
  type ErrorList, type ImportInput, type OnInvalid,
} from './member-import.ts';
import type { RowError } from './member-rows.ts';

const CHUNK_ROWS = 1_000;

export interface AdjustmentImportReport extends ErrorList {
  batchId: string | null;
  batchKey: string;
  status: 'completed' | 'rejected' | 'dry_run';
  replayed: boolean;
  format: 'csv' | 'ndjson';
  onInvalid: OnInvalid;
  rows: { total: number; valid: number; invalid: number };
  adjustments: { applied: number; alreadyApplied: number; pointsAdded: number; pointsRemoved: number };
  startedAt: string;
  finishedAt: string;
}

async function* adjustmentRows(input: ImportInput, ctx: { now: Date; timeZone: string; wallets: Set<string> }, collector: ErrorCollector, counter: { total: number }) {
  const seen = new Map<string, number>();
  let chunk: AdjustmentRow[] = [];
  const take = (raw: RawAdjustment | RowError) => {
    counter.total++;
    if ('code' in raw) return collector.add(raw);
    const result = validateAdjustmentRow(raw, ctx);
    if (result.errors) return result.errors.forEach((e) => collector.add(e));
    // One adjustment per customer and wallet per file: that pair is what makes a re-run a no-op.
    const key = `${result.row.wallet}\u0000${result.row.customerId}`;
    const first = seen.get(key);
    if (first !== undefined) {
      return collector.add({ line: raw.line, customerId: result.row.customerId, field: 'customer_id', code: 'duplicate_row', message: `customer ${JSON.stringify(result.row.customerId)} is already adjusted in wallet "${result.row.wallet}" on line ${first}; combine the two lines` });
    }
    seen.set(key, raw.line);
    chunk.push(result.row);
  };
  const chunks = textChunks(input.source);
  if (input.format === 'csv') {
    let columns: Parameters<typeof rawAdjustmentFromCsv>[2] | undefined;
    for await (const record of csvRecords(chunks)) {
      if (!columns) {
        const header = record.fields === undefined ? { error: record.error } : adjustmentColumns(record.fields);
        if ('error' in header) return collector.addFatal({ line: record.line, code: 'validation_failed', message: `header: ${header.error}` });
        columns = header.columns;
        continue;
      }
      take(record.fields === undefined ? { line: record.line, code: 'validation_failed', message: record.error } : rawAdjustmentFromCsv(record.line, record.fields, columns));
      if (chunk.length >= CHUNK_ROWS) {
        yield chunk;
        chunk = [];
      }
    }
    if (!columns) collector.addFatal({ line: 1, code: 'validation_failed', message: 'the file is empty: a CSV import needs a header line' });
  } else {
    for await (const line of ndjsonLines(chunks)) {
      take(line.error !== undefined ? { line: line.line, code: 'validation_failed', message: line.error } : rawAdjustmentFromJson(line.line, line.text));
      if (chunk.length >= CHUNK_ROWS) {
        yield chunk;
        chunk = [];
      }
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Applies a file of adjustments (customer id, signed amount, reason) as ledger adjust operations,
 * each audited like a manual adjustment, in one transaction. Each row runs under a savepoint, so
 * a row the ledger refuses (not enough points, unknown customer) is reported with its line
 * while the others go on; reject mode then rolls everything back.
 */
export async function importAdjustments(db: Db, input: ImportInput): Promise<AdjustmentImportReport> {
  const batchKey = input.batchKey ?? input.contentHash;
  assertBatchKey(batchKey);
  const onInvalid = input.onInvalid ?? 'reject';
  const program = await loadImportProgram(db, input.programId);
  const wallets = await repo.importWallets(db, program.id);
  const walletIds = new Map(wallets.map((w) => [w.code, w.id]));
  const startedAt = new Date();
  const replay = async () => {
    if (input.dryRun) return undefined;
    const done = await repo.findCompletedBatch(db, program.id, 'adjustments', batchKey, input.contentHash);
    return done ? ({ ...(done.report as unknown as AdjustmentImportReport), replayed: true }) : undefined;
  };
  const early = await replay();
  if (early) return early;

  // Drawn once the transaction has the database's instant, which the id carries (timeOrderedId).
  let completedBatchId: string | null = null;
  const collector = new ErrorCollector();
  const counter = { total: 0 };
  const totals = { applied: 0, alreadyApplied: 0, pointsAdded: 0, pointsRemoved: 0 };
  let now = new Date();
  const report = (status: AdjustmentImportReport['status']): AdjustmentImportReport => ({
    batchId: status === 'completed' ? completedBatchId : null, batchKey, status, replayed: false, format: input.format, onInvalid,
    rows: { total: counter.total, valid: counter.total - collector.invalidLines.size, invalid: collector.invalidLines.size },
    adjustments: status === 'rejected' ? { applied: 0, alreadyApplied: 0, pointsAdded: 0, pointsRemoved: 0 } : { ...totals },
    errors: collector.sorted(), errorCount: collector.errorCount, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(),
  });

  try {
    const done = await db.transaction().execute(async (trx) => {
      await repo.lockBatchKey(trx, program.id, 'adjustments', batchKey);
      const raced = await repo.findCompletedBatch(trx, program.id, 'adjustments', batchKey, input.contentHash);
      if (raced && !input.dryRun) return { ...(raced.report as unknown as AdjustmentImportReport), replayed: true };
      now = input.clock?.() ?? (await databaseNow(trx));
      const batchId = timeOrderedId(now);
      completedBatchId = batchId;
      const ctx: LedgerContext = { trx, program: { id: program.id, time_zone: program.time_zone, reversal_policy: program.reversal_policy }, now, actor: input.actor };
      for await (const rows of adjustmentRows(input, { now, timeZone: program.time_zone, wallets: new Set(walletIds.keys()) }, collector, counter)) {
        const members = new Map((await repo.membersByCustomerIds(trx, program.id, [...new Set(rows.map((r) => r.customerId))])).map((m) => [m.customer_id, m.id]));
        const done = new Set((await repo.adjustedByBatch(trx, program.id, batchKey, [...members.values()])).map((d) => `${d.wallet_id}\u0000${d.member_id}`));
        for (const row of rows) {
          const memberId = members.get(row.customerId);
          if (!memberId) {
            collector.add({ line: row.line, customerId: row.customerId, field: 'customer_id', code: 'member_not_found', message: 'no member has this customer id' });
            continue;
          }
          if (done.has(`${walletIds.get(row.wallet)}\u0000${memberId}`)) {
            totals.alreadyApplied++;
            continue;
          }
          await repo.savepoint(trx, 'adjustment_row');
          try {
            await adjust(ctx, {
              memberId, wallet: row.wallet, amount: row.amount, reason: row.reason, expiresAt: row.expiresAt,
              reference: { type: repo.ADJUSTMENT_REFERENCE, id: batchKey },
            });
            await repo.releaseSavepoint(trx, 'adjustment_row');
            totals.applied++;
            if (row.amount > 0) totals.pointsAdded += row.amount;
            else totals.pointsRemoved -= row.amount;
          } catch (error) {
            if (!(error instanceof ProblemError) || error.status >= 500) throw error;
            await repo.rollbackToSavepoint(trx, 'adjustment_row');
            collector.add({ line: row.line, customerId: row.customerId, field: 'amount', code: error.code, message: error.message });
          }
        }
      }
      if (collector.fatal || (collector.errorCount > 0 && onInvalid === 'reject')) throw new RollbackWith(report('rejected'));
      if (input.dryRun) throw new RollbackWith(report('dry_run'));
      const done = report('completed');
      const summary = { batchKey, format: input.format, rows: done.rows, adjustments: done.adjustments };
      await repo.insertBatch(trx, {
        id: batchId, program_id: program.id, kind: 'adjustments', batch_key: batchKey, content_hash: input.contentHash, format: input.format,
        status: 'completed', on_invalid: onInvalid, rows_total: counter.total, rows_invalid: done.rows.invalid,
        report: done as unknown as Record<string, unknown>, actor: input.actor, created_at: now,
      });
      await insertAuditEvent(trx, { program_id: program.id, actor: input.actor, action: 'adjustments.imported', subject_type: 'import_batch', subject_id: batchId, details: summary });
      await recordEvent(trx, program.id, 'adjustments.imported', null, { batchId, ...summary });
      return done;
    });
    if (!done.replayed) {
      await refreshStatisticsAfterBulkWrite(db, { reference: 'entries', rows: done.adjustments.applied, tables: ['operations', 'lots', 'entries'] });
    }
    return done;
  } catch (error) {
    if (!(error instanceof RollbackWith)) throw error;
    const rolledBack = error.report as AdjustmentImportReport;
    await recordRolledBackBatch(db, {
      programId: program.id, kind: 'adjustments', batchKey, contentHash: input.contentHash, format: input.format, onInvalid, report: rolledBack, actor: input.actor, now,
    });
    return rolledBack;
  }
}
