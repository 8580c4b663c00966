import { setImmediate } from 'node:timers/promises';
import { databaseNow, type Db, type Tx } from '../db/database.ts';
import { refreshStatisticsAfterBulkWrite } from '../db/statistics-repository.ts';
import { recordEvent } from '../events/event-repository.ts';
import { invariant, ProblemError } from '../http/error-codes.ts';
import { insertAuditEvent } from '../programs/program-repository.ts';
import * as repo from './import-repository.ts';
import { csvRecords, ndjsonLines, textChunks, type ImportFormat } from './import-source.ts';
import { findProgram } from '../programs/program-repository.ts';
import { timeOrderedId } from '../shared/time-ordered-id.ts';
import {
  csvColumns, rawFromCsv, rawFromJson, validateMemberRow,
  type CsvColumn, type ImportWallet, type MemberImportRow, type RawMember, type RowContext, type RowError,
} from './member-rows.ts';

/** Rows per set-based round; big enough that per-statement costs vanish, small enough to stream. */
export const DEFAULT_CHUNK_ROWS = 10_000;
/** A report lists this many errors; errorCount has them all. */
export const MAX_REPORTED_ERRORS = 1_000;

export type OnInvalid = 'reject' | 'skip';

export interface ImportInput {
  programId: string;
  actor: string;
  format: ImportFormat;
  source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;
  /** sha256 of the whole file (hashFile / hashText). */
  contentHash: string;
  /** Opening balances and adjustments are applied once per (batch key, customer id, wallet). Default: the content hash. */
  batchKey?: string;
  /** reject (default): any invalid row rejects the whole file, nothing is written. skip: valid rows are imported, invalid ones reported. */
  onInvalid?: OnInvalid;
  /** Runs everything, reports, and rolls back. */
  dryRun?: boolean;
  chunkRows?: number;
  /** Keep PostgreSQL's row-by-row foreign-key checks even where they may be skipped (see skipImportForeignKeyChecks). */
  checkForeignKeys?: boolean;
  clock?: () => Date | undefined;
  onProgress?: (rowsRead: number) => void;
}

export interface ErrorList {
  errors: RowError[];
  errorCount: number;
}

export interface MemberImportReport extends ErrorList {
  batchId: string | null;
  batchKey: string;
  status: 'completed' | 'rejected' | 'dry_run';
  replayed: boolean;
  format: ImportFormat;
  onInvalid: OnInvalid;
  rows: { total: number; valid: number; invalid: number };
  members: { created: number; updated: number; unchanged: number };
  balances: { applied: number; alreadyImported: number; points: number };
  startedAt: string;
  finishedAt: string;
}

/** Thrown inside the transaction to roll it back with a report (rejected file or dry run). */
class RollbackWith<T> extends Error {
  constructor(readonly report: T) {
    super('import rolled back');
  }
}

export class ErrorCollector {
  readonly errors: RowError[] = [];
  errorCount = 0;
  readonly invalidLines = new Set<number>();
  /** A file-level problem (bad header, empty CSV): nothing can be imported, whatever onInvalid says. */
  fatal = false;
  addFatal(error: RowError) {
    this.fatal = true;
    this.errorCount++;
    this.errors.push(error);
  }
  add(error: RowError) {
    this.errorCount++;
    this.invalidLines.add(error.line);
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(error);
  }
  sorted(): RowError[] {
    return [...this.errors].sort((a, b) => a.line - b.line);
  }
}

export function assertBatchKey(batchKey: string) {
  if (batchKey.length < 1 || batchKey.length > 200 || /[\u0000-\u001f\u007f]/.test(batchKey)) {
    throw new ProblemError('validation_failed', 'the batch key must be 1–200 printable characters', { field: 'batchKey' });
  }
}

export async function loadImportProgram(db: Db | Tx, programId: string) {
  const program = await findProgram(db, programId);
  if (!program) throw new ProblemError('program_not_found');
  return program;
}

/**
 * Rows validated between two turns of the event loop. The next chunk is read and validated while
 * the database applies this one, on the same thread, and an async generator's steps run as
 * microtasks: without a turn, the answer to each of the chunk's statements waited until a whole
 * piece of the file had been validated, and the database sat idle meanwhile. Imports of 100,000
 * members, in turns: 11.2–11.9 s against 13.0–14.0 s without (8 pairs, each won); 50 rows a turn
 * did no better than 200. At 300,000 and a million, where PostgreSQL's own time per member grows,
 * the gain is within the machine's noise (docs/benchmarks.md, "Time-ordered ids").
 */
const ROWS_BETWEEN_TURNS = 200;

/**
 * Reads, checks and de-duplicates the file into chunks of valid rows. A customer id, email or
 * phone may appear once per file; the second occurrence is the invalid one.
 */
async function* validChunks(input: ImportInput, ctx: RowContext, collector: ErrorCollector, counter: { total: number }, chunkRows: number): AsyncGenerator<MemberImportRow[]> {
  const customers = new Map<string, number>();
  const emails = new Map<string, number>();
  const phones = new Map<string, number>();
  let chunk: MemberImportRow[] = [];
  const take = (raw: RawMember | RowError) => {
    counter.total++;
    if ('code' in raw) return collector.add(raw);
    const result = validateMemberRow(raw, ctx);
    const customerId = typeof raw.values.customer_id === 'string' ? raw.values.customer_id.trim() : undefined;
    let duplicate = false;
    const once = (map: Map<string, number>, key: string | null | undefined, field: string) => {
      if (!key) return;
      const first = map.get(key);
      if (first === undefined) map.set(key, raw.line);
      else {
        duplicate = true;
        collector.add({ line: raw.line, customerId, field, code: field === 'customer_id' ? 'duplicate_row' : 'member_conflict', message: `${field} ${JSON.stringify(key)} is also on line ${first}` });
      }
    };
    once(customers, customerId, 'customer_id');
    if (result.errors) {
      for (const e of result.errors) collector.add(e);
      return;
    }
    once(emails, result.row.email?.toLowerCase(), 'email');
    once(phones, result.row.phone, 'phone');
    if (!duplicate) chunk.push(result.row);
  };
  const chunks = textChunks(input.source);
  if (input.format === 'csv') {
    let columns: CsvColumn[] | undefined;
    for await (const record of csvRecords(chunks)) {
      if (!columns) {
        if (record.fields === undefined) {
          collector.addFatal({ line: record.line, code: 'validation_failed', message: `header: ${record.error}` });
          return;
        }
        const header = csvColumns(record.fields, ctx.wallets);
        if ('error' in header) {
          collector.addFatal({ line: record.line, code: 'validation_failed', message: `header: ${header.error}` });
          return;
        }
        columns = header.columns;
        continue;
      }
      if (record.fields === undefined) take({ line: record.line, code: 'validation_failed', message: record.error });
      else take(rawFromCsv(record.line, record.fields, columns));
      if (counter.total % ROWS_BETWEEN_TURNS === 0) await setImmediate();
      if (chunk.length >= chunkRows) {
        yield chunk;
        chunk = [];
      }
      if (counter.total % 10_000 === 0) input.onProgress?.(counter.total);
    }
    if (!columns) collector.addFatal({ line: 1, code: 'validation_failed', message: 'the file is empty: a CSV import needs a header line' });
  } else {
    for await (const line of ndjsonLines(chunks)) {
      take(line.error !== undefined ? { line: line.line, code: 'validation_failed', message: line.error } : rawFromJson(line.line, line.text));
      if (counter.total % ROWS_BETWEEN_TURNS === 0) await setImmediate();
      if (chunk.length >= chunkRows) {
        yield chunk;
        chunk = [];
      }
      if (counter.total % 10_000 === 0) input.onProgress?.(counter.total);
    }
  }
  if (chunk.length > 0) yield chunk;
}

const CONFLICT_MESSAGES: Record<string, string> = {
  email: 'another member already has this email',
  phone: 'another member already has this phone number',
  customer_id: 'the member is blocked and cannot receive an opening balance',
};

/**
 * Imports members with opening balances from CSV or NDJSON in one transaction, chunk by chunk
 * with set-based SQL. Every opening balance is a ledger earn (reference type "import", reference
 * id the batch key): operation, vested lot, entry, cached balance and counter. Re-running the
 * same file replays its report; re-running a batch key with changed content applies only the
 * balances that key has not applied yet.
 */
export async function importMembers(db: Db, input: ImportInput): Promise<MemberImportReport> {
  const batchKey = input.batchKey ?? input.contentHash;
  assertBatchKey(batchKey);
  const onInvalid = input.onInvalid ?? 'reject';
  const chunkRows = input.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const program = await loadImportProgram(db, input.programId);
  const walletRows: ImportWallet[] = await repo.importWallets(db, program.id);
  const startedAt = new Date();

  const replay = async (executor: Db | Tx) => {
    if (input.dryRun) return undefined;
    const done = await repo.findCompletedBatch(executor, program.id, 'members', batchKey, input.contentHash);
    return done ? ({ ...(done.report as unknown as MemberImportReport), replayed: true }) : undefined;
  };
  const early = await replay(db);
  if (early) return early;

  // Drawn once the transaction has the database's instant, which the id carries (timeOrderedId).
  let completedBatchId: string | null = null;
  const collector = new ErrorCollector();
  const counter = { total: 0 };
  const totals = { created: 0, updated: 0, applied: 0, alreadyImported: 0, points: 0 };
  let now = new Date();

  const report = (status: MemberImportReport['status']): MemberImportReport => {
    const invalid = collector.invalidLines.size;
    const valid = counter.total - invalid;
    const written = status === 'completed' || status === 'dry_run';
    return {
      batchId: status === 'completed' ? completedBatchId : null, batchKey, status, replayed: false, format: input.format, onInvalid,
      rows: { total: counter.total, valid, invalid },
      members: written ? { created: totals.created, updated: totals.updated, unchanged: valid - totals.created - totals.updated } : { created: 0, updated: 0, unchanged: 0 },
      balances: written ? { applied: totals.applied, alreadyImported: totals.alreadyImported, points: totals.points } : { applied: 0, alreadyImported: 0, points: 0 },
      errors: collector.sorted(), errorCount: collector.errorCount,
      startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(),
    };
  };

  try {
    const done = await db.transaction().execute(async (trx) => {
      await repo.lockBatchKey(trx, program.id, 'members', batchKey);
      // A concurrent run of the same file may have finished while this one waited for the lock.
      const raced = await replay(trx);
      if (raced) return raced;
      now = input.clock?.() ?? (await databaseNow(trx));
      const batchId = timeOrderedId(now);
      completedBatchId = batchId;
      await repo.createStaging(trx);
      const relaxed = !input.checkForeignKeys && (await repo.skipImportForeignKeyChecks(trx));
      const ctx: RowContext = {
        now, timeZone: program.time_zone, wallets: new Map(walletRows.map((w) => [w.code, w])),
        defaultCountry: typeof program.settings.defaultCountry === 'string' ? program.settings.defaultCountry : undefined,
      };
      const inactivity = walletRows.filter((w) => w.expiry_kind === 'inactivity');
      const issued = await repo.issuedAccounts(trx, program.id);

      const applyChunk = async (rows: MemberImportRow[]) => {
        await repo.stageMembers(trx, program.id, batchKey, issued, rows);
        const byLine = new Map(rows.map((r) => [r.line, r.customerId]));
        const conflicts = await repo.stagedConflicts(trx, program.id);
        if (conflicts.length > 0) {
          for (const c of conflicts) {
            collector.add({ line: c.line, customerId: byLine.get(c.line), field: c.field, code: c.code, message: CONFLICT_MESSAGES[c.field]! });
          }
          await repo.unstageLines(trx, [...new Set(conflicts.map((c) => c.line))]);
        }
        // A rejected file stops writing at its first invalid row but is read to the end, so the
        // report lists every problem at once.
        if (onInvalid === 'reject' && collector.errorCount > 0) return;
        const members = await repo.upsertStagedMembers(trx, program.id, now);
        totals.created += members.created;
        totals.updated += members.updated;
        if (members.unresolved.length > 0) {
          for (const line of members.unresolved) {
            collector.add({ line, customerId: byLine.get(line), field: 'customer_id', code: 'member_conflict', message: 'another member took this email or phone number during the import' });
          }
          await repo.unstageLines(trx, members.unresolved);
          if (onInvalid === 'reject') return;
        }
        if (!rows.some((r) => r.balances.length > 0)) return;
        await repo.ensureStagedMemberWallets(trx, program.id, now);
        totals.alreadyImported += await repo.lockAndDedupeStagedBalances(trx);
        const staged = await repo.stagedFreshCount(trx);
        const applied = await repo.applyStagedBalances(trx, { programId: program.id, batchKey, batchId, actor: input.actor, now });
        invariant(
          applied.balances === staged.total && applied.entries === staged.total && applied.lots === staged.total
            && applied.updated === staged.total - staged.fresh && applied.counters === staged.total - staged.fresh,
          'one operation, lot and entry per opening balance; cached balances and counters of existing member wallets updated once each',
        );
        totals.applied += applied.balances;
        totals.points += applied.points;
        for (const wallet of inactivity) {
          if (rows.some((r) => r.balances.some((b) => b.walletId === wallet.id))) {
            await repo.refreshStagedInactivityExpiry(trx, wallet.id, new Date(now.getTime() + wallet.expiry_count * 86_400_000));
          }
        }
      };

      // The next chunk is parsed while the database applies this one.
      const chunks = validChunks(input, ctx, collector, counter, chunkRows);
      try {
        let next = chunks.next();
        for (;;) {
          const { value, done } = await next;
          if (done) break;
          next = chunks.next();
          next.catch(() => {});
          await applyChunk(value);
        }
      } finally {
        await chunks.return(undefined);
      }
      input.onProgress?.(counter.total);

      if (relaxed) await repo.restoreForeignKeyChecks(trx);
      if (collector.fatal || (collector.errorCount > 0 && onInvalid === 'reject')) throw new RollbackWith(report('rejected'));
      if (input.dryRun) throw new RollbackWith(report('dry_run'));
      const done = report('completed');
      const summary = { batchKey, format: input.format, rows: done.rows, members: done.members, balances: done.balances };
      await repo.insertBatch(trx, {
        id: batchId, program_id: program.id, kind: 'members', batch_key: batchKey, content_hash: input.contentHash, format: input.format,
        status: 'completed', on_invalid: onInvalid, rows_total: counter.total, rows_invalid: done.rows.invalid, report: done as unknown as Record<string, unknown>,
        actor: input.actor, created_at: now,
      });
      await insertAuditEvent(trx, { program_id: program.id, actor: input.actor, action: 'members.imported', subject_type: 'import_batch', subject_id: batchId, details: summary });
      // One event for the batch, not one per member: a migration must not send a welcome or
      // points-earned message to every imported customer.
      await recordEvent(trx, program.id, 'members.imported', null, { batchId, ...summary });
      return done;
    });
    if (!done.replayed) {
      await refreshStatisticsAfterBulkWrite(db, {
        reference: 'members', rows: done.members.created + done.balances.applied,
        tables: ['members', 'member_wallets', 'accounts', 'operations', 'lots', 'entries'],
      });
    }
    return done;
  } catch (error) {
    if (!(error instanceof RollbackWith)) throw error;
    const rolledBack = error.report as MemberImportReport;
    await recordRolledBackBatch(db, {
      programId: program.id, kind: 'members', batchKey, contentHash: input.contentHash, format: input.format, onInvalid,
      report: rolledBack, actor: input.actor, now,
    });
    return rolledBack;
  }
}

/** A rejected file or a dry run leaves a row in the import history, and nothing else. */
export async function recordRolledBackBatch(
  db: Db,
  options: {
    programId: string; kind: 'members' | 'adjustments'; batchKey: string; contentHash: string; format: ImportFormat; onInvalid: OnInvalid;
    report: { status: 'completed' | 'rejected' | 'dry_run'; rows: { total: number; invalid: number } }; actor: string; now: Date;
  },
) {
  const id = timeOrderedId(options.now);
  await repo.insertBatch(db, {
    id, program_id: options.programId, kind: options.kind, batch_key: options.batchKey, content_hash: options.contentHash, format: options.format,
    status: options.report.status, on_invalid: options.onInvalid, rows_total: options.report.rows.total, rows_invalid: options.report.rows.invalid,
    report: { ...options.report, batchId: null, historyId: id } as unknown as Record<string, unknown>, actor: options.actor, created_at: options.now,
  });
}

export { RollbackWith };
