import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase, planEachExecution } from '../../src/db/database.ts';
import { createTestDatabase } from '../helpers.ts';

/** What one connection has prepared: pg_prepared_statements is per session, so ask in the same transaction. */
async function preparedAfter(db: ReturnType<typeof createDatabase>['db'], text: string) {
  return db.transaction().execute(async (trx) => {
    const first = await sql<{ n: number }>`select ${7}::int + 1 as n`.execute(trx);
    const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements where statement = ${text}`.execute(trx);
    return { answer: first.rows[0]!.n, prepared: rows.length };
  });
}

describe('statements with parameters', async () => {
  const base = await createTestDatabase(2);
  const text = 'select $1::int + 1 as n';

  it('are named prepared statements, planned once per connection, with the same answers', async () => {
    const database = createDatabase(base.url, 1);
    try {
      expect(await preparedAfter(database.db, text)).toEqual({ answer: 8, prepared: 1 });
      // The same text again on the same connection reuses the statement: still one, same answer.
      expect(await preparedAfter(database.db, text)).toEqual({ answer: 8, prepared: 1 });
      // A statement without parameters is sent as it is.
      const { rows } = await sql<{ n: number }>`select 41 + 1 as n`.execute(database.db);
      expect(rows[0]!.n).toBe(42);
    } finally {
      await database.close();
    }
  });

  it('go out unnamed with prepare: false (LAUREL_DB_PREPARE=off), with the same answers', async () => {
    const database = createDatabase(base.url, 1, { prepare: false });
    try {
      expect(await preparedAfter(database.db, text)).toEqual({ answer: 8, prepared: 0 });
    } finally {
      await database.close();
    }
  });

  it('are planned for their actual values inside a batch job after planEachExecution, and only in that transaction', async () => {
    const database = createDatabase(base.url, 1);
    try {
      const mode = async (db: Parameters<typeof planEachExecution>[0] | typeof database.db) =>
        (await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(db)).rows[0]!.plan_cache_mode;
      await database.db.transaction().execute(async (trx) => {
        expect(await mode(trx)).toBe('auto');
        await planEachExecution(trx);
        expect(await mode(trx)).toBe('force_custom_plan');
      });
      // The pool's one connection, back for the next request: generic plans again.
      expect(await mode(database.db)).toBe('auto');
    } finally {
      await database.close();
    }
  });
});
