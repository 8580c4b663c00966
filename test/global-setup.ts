import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../src/db/database.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded-postgres.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { assertServerVersion } from '../src/db/resolve-database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

export const TEMPLATE = 'laurel_test_template';

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * One PostgreSQL server for the whole run: the embedded one (a throwaway cluster with fsync off),
 * or the server of DATABASE_URL. Migrations run once into a template database; each test file
 * clones it into a fresh database of its own.
 */
export default async function setup(project: TestProject) {
  let server: EmbeddedServer | undefined;
  let adminUrl: string;
  let dataDir: string | undefined;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
    await assertServerVersion(adminUrl);
  } else {
    // A cluster of its own per run, so that parallel runs never share (or recover) one another's server.
    dataDir = await mkdtemp(path.join(process.env.LAUREL_TEST_TMPDIR ?? os.tmpdir(), 'laurel-test-'));
    // mkdtemp makes the folder private; the server runs as another user when we are root.
    await chmod(dataDir, 0o755);
    server = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    });
    adminUrl = server.url('postgres');
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const stale = await admin.query<{ datname: string }>("select datname from pg_database where datname like 'laurel_test_%'");
  for (const { datname } of stale.rows) await admin.query(`drop database if exists "${datname}" with (force)`);
  await admin.query(`create database ${TEMPLATE}`);
  const template = createDatabase(withDatabase(adminUrl, TEMPLATE), 2);
  await migrateToLatest(template.db);
  await template.close();
  await admin.end();

  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', TEMPLATE);
  return async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}
