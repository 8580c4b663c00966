import fc from 'fast-check';
import { CompiledQuery, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { executeWithCommit, inlineParameters, quoteLiteral } from '../../src/db/database.ts';
import { connectSession, setupTestApp, statementCounter } from '../helpers.ts';

/**
 * executeWithCommit sends a transaction's last statement and its COMMIT in one message (the
 * simple query protocol, parameters written in as literals). It must mean exactly what the
 * statement with parameters means, commit exactly when it succeeds, and leave nothing running
 * outside the transaction.
 */
describe('executeWithCommit', async () => {
  const t = await setupTestApp();
  const db = t.db.db;
  await sql`create table with_commit_probe (id text primary key, note text)`.execute(db);
  const probe = async (id: string) => {
    const { rows } = await sql<{ note: string }>`select note from with_commit_probe where id = ${id}`.execute(db);
    return rows.map((r) => r.note);
  };

  it('a value written in as a literal reads back as the same value sent as a parameter', async () => {
    const client = await connectSession(t.db.url);
    try {
      // Typed by the statement's casts, as in Laurel's statements; and untyped, resolved by context.
      const text = 'select $1::text as s, $2::jsonb as j, $3::text[] as a, $4::timestamptz as d, $5::bigint as n, $6::boolean as b, $7::bytea as x, $8 as u';
      const noNul = (s: string) => !s.includes('\u0000');
      const value = fc.tuple(
        fc.oneof(fc.string({ unit: 'binary' }).filter(noNul), fc.constantFrom("'", '\\', "''\\'", '$1', "E'x'", '; commit; --', '\u{1F600}')),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.array(fc.option(fc.string({ unit: 'grapheme' }).filter(noNul), { nil: null })),
        fc.date({ min: new Date('1970-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
        fc.maxSafeInteger(),
        fc.boolean(),
        fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
        fc.option(fc.string().filter(noNul), { nil: null }),
      );
      await fc.assert(fc.asyncProperty(value, async (values) => {
        const sent = (await client.query(text, [...values])).rows;
        const inlined = (await client.query(inlineParameters(text, [...values]))).rows;
        expect(inlined).toEqual(sent);
      }), { numRuns: 200 });
    } finally {
      await client.end();
    }
  });

  it('writes a literal exactly as node-postgres does', () => {
    const text = fc.oneof(fc.string({ unit: fc.constantFrom("'", '\\', 'a', 'E', ' ', '\u00e9') }), fc.string({ unit: 'binary' }));
    fc.assert(fc.property(text, (value) => {
      expect(quoteLiteral(value)).toBe(pg.escapeLiteral(value));
    }), { numRuns: 2_000 });
  });

  it('refuses a text whose placeholders do not match its parameters', () => {
    expect(() => inlineParameters('select $1, $3', [1, 2, 3])).toThrow(/3 parameters, 2 placeholders/);
    expect(() => inlineParameters('select $2', [1])).toThrow(/parameter \$2 of 1/);
  });

  it('commits with the statement in one round trip, and returns its rows', async () => {
    const statements = statementCounter(t.db.pool);
    statements.count = 0;
    const rows = await db.transaction().execute(async (trx) => {
      await sql`insert into with_commit_probe values ('a1', 'before')`.execute(trx);
      const result = await executeWithCommit(trx, sql<{ id: string }>`insert into with_commit_probe values (${'a2'}, ${"it's"}) returning id`.compile(trx));
      // Committed already: another session sees both rows before this transaction "ends".
      const other = await connectSession(t.db.url);
      expect((await other.query(`select id from with_commit_probe where id in ('a1', 'a2') order by id`)).rows).toEqual([{ id: 'a1' }, { id: 'a2' }]);
      await other.end();
      return result.rows;
    });
    // begin, the first insert, and the last insert with its commit; Kysely's own commit is not sent.
    expect(statements.count).toBe(3);
    expect(rows).toEqual([{ id: 'a2' }]);
    expect(await probe('a2')).toEqual(["it's"]);
  });

  it('when the statement fails, nothing of the transaction is committed and the connection is usable again', async () => {
    await sql`insert into with_commit_probe values ('b1', 'taken')`.execute(db);
    await expect(db.transaction().execute(async (trx) => {
      await sql`insert into with_commit_probe values ('b2', 'first')`.execute(trx);
      await executeWithCommit(trx, CompiledQuery.raw('insert into with_commit_probe values ($1, $2)', ['b1', 'again']));
    })).rejects.toThrow(/duplicate key/);
    expect(await probe('b2')).toEqual([]);
    expect(await probe('b1')).toEqual(['taken']);
    // Every connection of the pool still runs transactions normally.
    await Promise.all(Array.from({ length: 25 }, (_, i) => db.transaction().execute((trx) => sql`insert into with_commit_probe values (${`b-${i}`}, 'ok')`.execute(trx))));
    expect(await probe('b-24')).toEqual(['ok']);
  });

  it('refuses a statement after it: that statement would run outside the transaction', async () => {
    await expect(db.transaction().execute(async (trx) => {
      await executeWithCommit(trx, CompiledQuery.raw('insert into with_commit_probe values ($1, $2)', ['c1', 'committed']));
      await sql`insert into with_commit_probe values ('c2', 'outside')`.execute(trx);
    })).rejects.toThrow(/after executeWithCommit/);
    expect(await probe('c1')).toEqual(['committed']);
    expect(await probe('c2')).toEqual([]);
  });
});
