import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { migrations } from '../../src/db/migrations/index.ts';

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  // A database of its own, created empty: not cloned from the already-migrated test template.
  const name = `laurel_test_mig_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = `/${name}`;
  let database: ReturnType<typeof createDatabase> | undefined;

  afterAll(async () => {
    await database?.close();
    await admin((c) => c.query(`drop database if exists ${name} with (force)`));
  });

  it('migrate an empty database to the latest version, then apply nothing on a second run', async () => {
    await admin((c) => c.query(`create database ${name}`));
    database = createDatabase(url.toString(), 2);
    const before = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'public'`.execute(database.db);
    expect(before.rows[0]!.n).toBe(0);

    const names = Object.keys(migrations).sort();
    expect(names[0]).toBe('0001-core');
    expect(await migrateToLatest(database.db)).toEqual(names);
    expect(await migrateToLatest(database.db)).toEqual([]);

    const recorded = await sql<{ name: string }>`select name from laurel_migrations order by name`.execute(database.db);
    expect(recorded.rows.map((r) => r.name)).toEqual(names);
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public'`.execute(database.db);
    expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['programs', 'members', 'wallets', 'accounts', 'entries', 'lots', 'operations', 'api_keys', 'stores']));
  });

  it('names migrations so that their order is their version order', () => {
    for (const migrationName of Object.keys(migrations)) expect(migrationName).toMatch(/^\d{4}-[a-z0-9-]+$/);
  });
});
