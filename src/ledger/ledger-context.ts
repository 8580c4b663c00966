import type { Tx } from '../db/database.ts';
import { ProblemError } from '../http/error-codes.ts';
import { programAtNow, type ProgramAtNow } from '../programs/program-repository.ts';
import { rememberNoLadder } from '../tiers/ladder-memo.ts';
import type { LedgerContext } from './ledger-operations.ts';

/**
 * The context of one request's transaction: its program and its instant (the test clock's, else
 * the database's, so that an app server's clock skew never changes vesting or expiry). Every
 * route module and every job builds its context here.
 */
export async function openLedgerContext(trx: Tx, programId: string, actor: string, clock?: () => Date | undefined): Promise<LedgerContext> {
  return ledgerContextOf(trx, await programAtNow(trx, programId, clock?.()), actor);
}

/** The context of a program row read at the transaction's instant (programAtNowQuery), by openLedgerContext or by a statement that read more with it. */
export function ledgerContextOf(trx: Tx, row: ProgramAtNow | undefined, actor: string): LedgerContext {
  if (!row) throw new ProblemError('program_not_found');
  const { now, has_ladder: hasLadder, ...program } = row;
  if (!hasLadder) rememberNoLadder(trx, row.id);
  return { trx, program, now, actor };
}

/**
 * What a batch of a group commit needs to open its context itself (ingestOrderEventsMany reads
 * the program with its earning environment, in one statement).
 */
export interface BatchOpening {
  trx: Tx;
  programId: string;
  actor: string;
  clock?: () => Date | undefined;
}

export type ProgramDetails = Required<LedgerContext['program']>;

/** The program's currency and settings: from the context when it was loaded with them, else read. */
export async function programDetails(ctx: LedgerContext): Promise<ProgramDetails> {
  const p = ctx.program;
  if (p.currency !== undefined && p.currency_exponent !== undefined && p.settings !== undefined) return p as ProgramDetails;
  const row = await programAtNow(ctx.trx, p.id, ctx.now);
  if (!row) throw new ProblemError('program_not_found');
  const { now: _now, has_ladder: _hasLadder, ...details } = row;
  return details;
}
