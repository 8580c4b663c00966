import type { Executor } from '../db/database.ts';

/**
 * The tier ladder as one transaction saw it first: an order or an earn consults it several
 * times (rules' tier multiplier, the tier hooks), and it only changes through the ladder's own
 * writes, which forget it. Outside a transaction nothing is kept.
 */
const memo = new WeakMap<Executor, Map<string, Promise<unknown>>>();

function perTransaction(db: Executor): Map<string, Promise<unknown>> {
  let perTx = memo.get(db);
  if (!perTx) memo.set(db, (perTx = new Map()));
  return perTx;
}

export function memoizedLadder<T>(db: Executor, programId: string, load: () => Promise<T>): Promise<T> {
  if (!db.isTransaction) return load();
  const perTx = perTransaction(db);
  let found = perTx.get(programId) as Promise<T> | undefined;
  if (!found) {
    found = load();
    perTx.set(programId, found);
    // A failed read is not kept: the transaction is failing anyway, and nothing stale lingers.
    found.catch(() => perTx.delete(programId));
  }
  return found;
}

/**
 * A transaction that has just seen the program has no ladder (openLedgerContext reads that with
 * the program, in the same statement) need not ask again: one round trip less per earn and order.
 */
export function rememberNoLadder(db: Executor, programId: string) {
  if (!db.isTransaction) return;
  const perTx = perTransaction(db);
  if (!perTx.has(programId)) perTx.set(programId, Promise.resolve(null));
}

/** Called by every write to a program's ladder or tiers. */
export function forgetLadder(db: Executor) {
  memo.delete(db);
}
