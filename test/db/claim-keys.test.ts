import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { claimKeys } from '../../src/idempotency/idempotency-repository.ts';
import { inTransaction } from '../../src/idempotency/run-idempotent.ts';
import { programAtNow, programAtNowQuery } from '../../src/programs/program-repository.ts';
import { connectSession, setupTestApp, statementCounter } from '../helpers.ts';

/**
 * laurel_claim_keys (migration 0009) locks Idempotency-Keys and reads their stored answers in one
 * statement. Its read must see what the key's previous holder committed after the statement
 * began (and before the lock was taken), or a retried request would act twice.
 */
describe('laurel_claim_keys', async () => {
  const t = await setupTestApp();
  const program = t.program.id;
  const connect = () => connectSession(t.db.url);
  const store = (client: pg.Client, key: string, body: unknown) => client.query(
    `insert into idempotency_keys (program_id, key, request_hash, response_status, response_body) values ($1, $2, 'h', 201, $3)`, [program, key, JSON.stringify(body)]);
  const lock = (client: pg.Client, key: string) => client.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${program}:${key}`]);

  it('takes free keys, skips keys held elsewhere, and returns what is stored under the keys it took', async () => {
    const [holder, claimer] = [await connect(), await connect()];
    try {
      const setup = await connect();
      await store(setup, 'stored', { n: 1 });
      await setup.end();
      await holder.query('begin');
      await lock(holder, 'held');
      await claimer.query('begin');
      const { rows } = await claimer.query(`select * from laurel_claim_keys($1, $2) order by key`, [program, ['fresh', 'held', 'stored']]);
      expect(rows).toEqual([
        { key: 'fresh', request_hash: null, response_status: null, response_body: null },
        { key: 'stored', request_hash: 'h', response_status: 201, response_body: { n: 1 } },
      ]);
      // The locks it took are held until its transaction ends.
      const other = await connect();
      expect((await other.query(`select * from laurel_claim_keys($1, $2)`, [program, ['fresh', 'stored']])).rows).toEqual([]);
      await claimer.query('commit');
      expect((await other.query(`select key from laurel_claim_keys($1, $2)`, [program, ['fresh']])).rows).toEqual([{ key: 'fresh' }]);
      await other.end();
      await holder.query('rollback');
    } finally {
      await holder.end();
      await claimer.end();
    }
  });

  it('reads after taking the lock: an answer committed after its statement began is seen', async () => {
    const [holder, claimer] = [await connect(), await connect()];
    try {
      await holder.query('begin');
      await lock(holder, 'late');
      await store(holder, 'late', { first: true });
      // The claimer's statement begins (its snapshot) while the holder still runs, sleeps, and
      // only then claims the key; the holder commits during the sleep. A plain SELECT that locked
      // and read in one statement would miss the answer, and the retry would act a second time.
      const claimed = claimer.query(
        `select c.* from (select pg_sleep(0.5) as z) s cross join lateral laurel_claim_keys($1::uuid, case when s.z is null then $2::text[] else $2::text[] end) c`,
        [program, ['late']]);
      await new Promise((r) => setTimeout(r, 150));
      await holder.query('commit');
      expect((await claimed).rows).toEqual([{ key: 'late', request_hash: 'h', response_status: 201, response_body: { first: true } }]);
    } finally {
      await holder.end();
      await claimer.end();
    }
  });
});

describe('the program read with a key claim', async () => {
  const t = await setupTestApp();
  const statements = statementCounter(t.db.pool);

  it('is the row programAtNow reads itself, taken by the transaction’s next read of the program only', async () => {
    const direct = await inTransaction(t.db.db, async (trx) => (await programAtNowQuery(t.program.id, undefined).execute(trx)).rows[0]);
    await inTransaction(t.db.db, async (trx) => {
      const own = (await programAtNowQuery(t.program.id, undefined).execute(trx)).rows[0]!;
      await claimKeys(trx, t.program.id, ['read-ahead']);
      statements.count = 0;
      const first = await programAtNow(trx, t.program.id, undefined);
      expect(statements.count).toBe(0);
      // The transaction's instant (now() is its start) and the program, column for column.
      expect(first).toEqual(own);
      expect({ ...first, now: undefined }).toEqual({ ...direct, now: undefined });
      const second = await programAtNow(trx, t.program.id, undefined);
      expect(statements.count).toBe(1);
      expect(second).toEqual(own);
    });
  });

  it('gives way to a test clock, and to nothing in another transaction or for another program', async () => {
    const other = await t.newProgram({ name: 'Other shop' });
    const at = new Date('2031-02-03T04:05:06.789Z');
    await inTransaction(t.db.db, async (trx) => {
      await claimKeys(trx, t.program.id, ['read-ahead-clock']);
      statements.count = 0;
      expect((await programAtNow(trx, t.program.id, at))!.now).toEqual(at);
      expect(statements.count).toBe(0);
      expect((await programAtNow(trx, other.id, undefined))!.id).toBe(other.id);
      expect(statements.count).toBe(1);
    });
    await inTransaction(t.db.db, async (trx) => {
      statements.count = 0;
      await programAtNow(trx, t.program.id, undefined);
      expect(statements.count).toBe(1);
    });
  });
});
