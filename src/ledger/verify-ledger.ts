import type { Db } from '../db/database.ts';
import { checks, programTotals, runCheck } from './verify-repository.ts';

/** Runs every ledger invariant check for a program in one consistent snapshot. */
export async function verifyLedger(db: Db, programId: string) {
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
    const results = [];
    for (let i = 0; i < checks.length; i++) {
      const discrepancies = await runCheck(trx, programId, i);
      results.push({ name: checks[i]!.name, description: checks[i]!.description, ok: discrepancies.length === 0, discrepancies });
    }
    return {
      ok: results.every((r) => r.ok),
      checkedAt: new Date().toISOString(),
      checks: results,
      totals: await programTotals(trx, programId),
    };
  });
}
