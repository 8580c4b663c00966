import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectSession, setupTestApp } from '../helpers.ts';

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
