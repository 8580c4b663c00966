import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabase } from '../../src/db/database.ts';
import { freePort, startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { assertServerVersion } from '../../src/db/resolve-database.ts';

export interface BenchServer {
  kind: 'embedded' | 'DATABASE_URL';
  adminUrl: string;
  stop(): Promise<void>;
}

/**
 * An eighth of the machine's memory, between 256 MB and 2 GB (PostgreSQL's guide suggests a
 * quarter for a dedicated server). Below that, a million members' indexes and rows no longer fit
 * and the bulk phases measure the buffer cache's evictions: expiring the same imported million
 * lots took 93.5 s with 256 MB and 64.9–67.8 s with 2 GB.
 */
export function benchSharedBuffersMb(): number {
  return Math.max(256, Math.min(2048, Math.floor(os.totalmem() / 2 ** 20 / 8)));
}

/**
 * The benchmark's PostgreSQL: DATABASE_URL (it creates and drops databases there), or an
 * embedded cluster of its own in a temporary folder with PostgreSQL's durable defaults (fsync and
 * synchronous_commit on): both sides of every ratio run on it with the same settings.
 */
export async function benchServer(log: (line: string) => void): Promise<BenchServer> {
  if (process.env.DATABASE_URL) {
    await assertServerVersion(process.env.DATABASE_URL);
    return { kind: 'DATABASE_URL', adminUrl: process.env.DATABASE_URL, stop: async () => {} };
  }
  const dataDir = await mkdtemp(path.join(process.env.LAUREL_BENCH_TMPDIR ?? os.tmpdir(), 'laurel-bench-'));
  await chmod(dataDir, 0o755);
  log(`starting an embedded PostgreSQL in ${dataDir}`);
  const server = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    // Room for the bulk phases without checkpoints in the middle; durability settings untouched.
    postgresFlags: ['-c', `shared_buffers=${benchSharedBuffersMb()}MB`, '-c', 'max_wal_size=8GB', '-c', 'checkpoint_timeout=30min', '-c', 'max_connections=300'],
  });
  return {
    kind: 'embedded',
    adminUrl: server.url('postgres'),
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function adminQuery(adminUrl: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database. */
export async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
  await adminQuery(adminUrl, `create database "${name}"`);
  const url = databaseUrl(adminUrl, name);
  const database = createDatabase(url, 2);
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
  return url;
}

export async function dropDatabase(adminUrl: string, name: string) {
  await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
}

export async function serverSettings(url: string) {
  const { rows } = await adminQuery(url, `
    select current_setting('server_version') as version, current_setting('fsync') as fsync,
           current_setting('synchronous_commit') as synchronous_commit, current_setting('shared_buffers') as shared_buffers,
           current_setting('wal_level') as wal_level, current_setting('full_page_writes') as full_page_writes`);
  return rows[0] as Record<string, string>;
}
