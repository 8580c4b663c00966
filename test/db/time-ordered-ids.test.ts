import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { UUID_V7_BEFORE_18 } from '../../src/db/migrations/0017-time-ordered-ids.ts';
import { timeOfId } from '../../src/shared/time-ordered-id.ts';
import { setupTestApp } from '../helpers.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Keys are version-7 UUIDs (migration 0017): the database's defaults, on every server version,
 * and the ids the application draws, each carrying the instant it was made at.
 */
describe('time-ordered ids', async () => {
  const t = await setupTestApp();

  async function drawn(expression: string) {
    const { rows } = await sql<{ id: string; before: Date; after: Date }>`
      select clock_timestamp() as before, ${sql.raw(expression)} as id, clock_timestamp() as after from generate_series(1, 2000)`.execute(t.db.db);
    return rows;
  }

  for (const [name, expression] of [['laurel_uuid_v7()', 'laurel_uuid_v7()'], ['the body used before PostgreSQL 18', UUID_V7_BEFORE_18]] as const) {
    it(`${name} is a version-7 UUID holding the database clock's millisecond, with random bits after it`, async () => {
      const rows = await drawn(expression);
      for (const { id, before, after } of rows) {
        expect(id).toMatch(V7);
        const at = timeOfId(id).getTime();
        expect(at).toBeGreaterThanOrEqual(Math.floor(before.getTime()));
        // uuidv7() keeps a session's ids ascending by stepping ahead of the clock when it is drawn
        // faster than every 244 ns, so its millisecond may pass the one read after it by one.
        expect(at).toBeLessThanOrEqual(after.getTime() + 1);
      }
      expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
      expect(new Set(rows.map((r) => r.id.slice(24))).size).toBe(rows.length);
    });
  }

  it('is the default of every uuid column that has one: no table draws random keys', async () => {
    const { rows } = await sql<{ table_name: string; column_name: string; column_default: string }>`
      select table_name, column_name, column_default from information_schema.columns
      where table_schema = 'public' and data_type = 'uuid' and column_default is not null order by 1, 2`.execute(t.db.db);
    expect(rows.length).toBeGreaterThan(15);
    expect(rows.filter((r) => r.column_default !== 'laurel_uuid_v7()')).toEqual([]);
  });

  it('keys rows created through the API by the instant they were made', async () => {
    const member = await t.member() as { id: string; enrolledAt: string };
    expect(member.id).toMatch(V7);
    expect(Math.abs(timeOfId(member.id).getTime() - Date.parse(member.enrolledAt))).toBeLessThan(60_000);
    t.clock.set('2031-05-06T07:08:09.123Z');
    try {
      // An operation's id is drawn by the application at the operation's instant (here the test clock).
      const earned = await t.earn(member.id, 100) as { operation: { id: string } };
      expect(earned.operation.id).toMatch(V7);
      expect(timeOfId(earned.operation.id).toISOString()).toBe('2031-05-06T07:08:09.123Z');
    } finally {
      t.clock.current = undefined;
    }
  });

  it('keys a completed import by the instant of its transaction, and its history row too', async () => {
    const csv = 'customer_id,balance\nids-1,5\nids-2,7\n';
    const members = await t.call('POST', '/v1/imports/members', { body: csv, headers: { 'content-type': 'text/csv' } });
    expect(members.status, JSON.stringify(members.body)).toBeLessThan(300);
    const report = members.body as { batchId: string; startedAt: string; finishedAt: string };
    expect(report.batchId).toMatch(V7);
    const at = timeOfId(report.batchId).getTime();
    expect(at).toBeGreaterThanOrEqual(Date.parse(report.startedAt) - 60_000);
    expect(at).toBeLessThanOrEqual(Date.parse(report.finishedAt) + 60_000);
    const adjustments = await t.call('POST', '/v1/imports/adjustments', {
      body: '{"customerId":"ids-1","amount":2,"reason":"goodwill"}\n', headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(adjustments.status, JSON.stringify(adjustments.body)).toBeLessThan(300);
    expect((adjustments.body as { batchId: string }).batchId).toMatch(V7);
    const history = await t.call('GET', '/v1/imports');
    const ids = (history.body as { data: { id: string }[] }).data.map((b) => b.id);
    expect(ids).toContain(report.batchId);
    for (const id of ids) expect(id).toMatch(V7);
  });
});
