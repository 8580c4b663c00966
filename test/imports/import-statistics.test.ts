import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { setupTestApp, type TestContext } from '../helpers.ts';

/**
 * A bulk import refreshes the planner's statistics of the tables it filled once it wrote many rows
 * beside what they held (src/db/statistics-repository.ts): plans cached on empty statistics made
 * every balance read four times dearer until autovacuum came by.
 */
async function estimatedRows(t: TestContext, table: string): Promise<number> {
  const { rows } = await sql<{ tuples: number }>`select reltuples::float8 as tuples from pg_class where oid = to_regclass(${table})`.execute(t.db.db);
  return rows[0]!.tuples;
}

/** Manual ANALYZEs of the table so far (pg_stat_user_tables). */
async function analyzeCount(t: TestContext, table: string): Promise<number> {
  const { rows } = await sql<{ count: number }>`select analyze_count::int as count from pg_stat_user_tables where relname = ${table}`.execute(t.db.db);
  return rows[0]!.count;
}

function membersCsv(from: number, count: number) {
  const lines = ['customer_id,email,balance'];
  for (let i = from; i < from + count; i++) lines.push(`s-${i},s${i}@example.com,${10 + (i % 7)}`);
  return lines.join('\n');
}

function adjustmentsCsv(from: number, count: number) {
  const lines = ['customer_id,amount,reason'];
  for (let i = from; i < from + count; i++) lines.push(`s-${i},5,goodwill`);
  return lines.join('\n');
}

describe('planner statistics after a bulk import', async () => {
  const t = await setupTestApp();
  const send = (url: string, body: string) =>
    t.call('POST', url, { body, idempotencyKey: false, headers: { 'content-type': 'text/csv' } });
  const MEMBER_TABLES = ['members', 'member_wallets', 'accounts', 'operations', 'lots', 'entries'];

  it('analyzes the tables a large member import filled, and not after a small one', async () => {
    // A fresh database: never analyzed, so PostgreSQL's estimate is -1 (unknown).
    expect(await estimatedRows(t, 'members')).toBeLessThan(1);
    const first = await send('/v1/imports/members', membersCsv(0, 300));
    expect(first.status).toBe(201);
    expect(first.body.members.created).toBe(300);
    for (const table of MEMBER_TABLES) expect(await estimatedRows(t, table), table).toBeGreaterThanOrEqual(300);
    expect(await estimatedRows(t, 'members')).toBe(300);

    // 20 rows against 300: under autovacuum's threshold (50 + 10 %), left to autovacuum.
    const analyzed = await analyzeCount(t, 'members');
    expect(analyzed).toBeGreaterThanOrEqual(1);
    expect((await send('/v1/imports/members', membersCsv(300, 20))).body.members.created).toBe(20);
    expect(await estimatedRows(t, 'members')).toBe(300);
    expect(await analyzeCount(t, 'members')).toBe(analyzed);

    // 100 more rows (and their opening balances) pass it: analyzed again.
    expect((await send('/v1/imports/members', membersCsv(320, 100))).body.members.created).toBe(100);
    expect(await estimatedRows(t, 'members')).toBe(420);
    expect(await estimatedRows(t, 'lots')).toBe(420);
  });

  it('analyzes the ledger tables after a large adjustment import, and not on its replay', async () => {
    const entriesBefore = await estimatedRows(t, 'entries');
    const file = adjustmentsCsv(0, 400);
    const res = await send('/v1/imports/adjustments', file);
    expect(res.status).toBe(201);
    expect(res.body.adjustments.applied).toBe(400);
    // One entry per adjustment: the estimate now counts them.
    expect(await estimatedRows(t, 'entries')).toBe(entriesBefore + 400);
    const analyzed = await analyzeCount(t, 'entries');
    const replay = await send('/v1/imports/adjustments', file);
    expect(replay.body.replayed).toBe(true);
    expect(await analyzeCount(t, 'entries')).toBe(analyzed);
  });
});
