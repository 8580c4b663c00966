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
        expect(at).toBeLessThanOrEqual(after.getTime());
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
});
