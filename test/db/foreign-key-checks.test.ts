import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { skipForeignKeyChecks } from '../../src/db/foreign-key-repository.ts';
import type { Executor } from '../../src/db/database.ts';
import { createTestDatabase } from '../helpers.ts';

/**
 * skipForeignKeyChecks (src/db/foreign-key-repository.ts): one statement that turns the per-row
 * checks off for the rest of a transaction only when that is safe and allowed, and otherwise
 * leaves them on without failing the transaction.
 */
describe('skipping foreign-key checks', async () => {
  const base = await createTestDatabase(2);
  const db = base.db;
  const role = async (trx: Executor) =>
    (await sql<{ role: string }>`select current_setting('session_replication_role') as role`.execute(trx)).rows[0]!.role;
  const writes = { inserts: ['fk_child'], updates: [] };

  await sql`create table fk_parent (id int primary key); create table fk_child (id int primary key, parent int references fk_parent(id))`.execute(db);

  it('turns them off for the transaction only, when no user trigger would be silenced and the role may', async () => {
    await db.transaction().execute(async (trx) => {
      expect(await skipForeignKeyChecks(trx, writes)).toBe(true);
      expect(await role(trx)).toBe('replica');
      // Off: a row that references nothing is accepted (what the callers promise never to write).
      await sql`insert into fk_child values (1, 99)`.execute(trx);
      await sql`delete from fk_child`.execute(trx);
    });
    // The next transaction on any connection checks again.
    await db.transaction().execute(async (trx) => {
      expect(await role(trx)).toBe('origin');
      await expect(sql`insert into fk_child values (2, 99)`.execute(trx)).rejects.toThrow(/foreign key/);
    });
  });

  it('leaves them on while a user trigger of a written table would fire, unless the caller does its work', async () => {
    await sql`create function fk_touch() returns trigger language plpgsql as $$ begin return new; end $$;
      create trigger fk_touch before insert on fk_child for each row execute function fk_touch()`.execute(db);
    try {
      await db.transaction().execute(async (trx) => {
        expect(await skipForeignKeyChecks(trx, writes)).toBe(false);
        expect(await role(trx)).toBe('origin');
        expect(await skipForeignKeyChecks(trx, { ...writes, firedByCaller: ['fk_touch'] })).toBe(true);
      });
    } finally {
      await sql`drop trigger fk_touch on fk_child; drop function fk_touch()`.execute(db);
    }
  });

  it('leaves them on, and the transaction usable, for a role that may not set session_replication_role', async () => {
    await sql`do $$ begin if not exists (select 1 from pg_roles where rolname = 'laurel_fk_plain') then create role laurel_fk_plain nologin; end if; end $$`.execute(db);
    await sql`grant usage on schema public to laurel_fk_plain`.execute(db);
    await db.transaction().execute(async (trx) => {
      await sql`set local role laurel_fk_plain`.execute(trx);
      expect(await skipForeignKeyChecks(trx, writes)).toBe(false);
      expect(await role(trx)).toBe('origin');
      expect((await sql<{ n: number }>`select 1 as n`.execute(trx)).rows[0]!.n).toBe(1);
    });
  });
});
