import pg from 'pg';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.ts';

export interface ResolvedDatabase {
  url: string;
  embedded?: EmbeddedServer;
  stop(): Promise<void>;
}

export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

/** DATABASE_URL when set (never starts a server); otherwise the embedded PostgreSQL in the data folder. */
export async function resolveDatabase(config: Config, log: (line: string) => void): Promise<ResolvedDatabase> {
  if (config.databaseUrl) {
    await assertServerVersion(config.databaseUrl);
    return { url: config.databaseUrl, stop: async () => {} };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, log });
  await ensureDatabase(embedded.url('postgres'), 'laurel');
  return { url: embedded.url('laurel'), embedded, stop: () => embedded.stop() };
}

export async function assertServerVersion(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version_num: string }>('show server_version_num');
    const version = Number(rows[0]!.server_version_num);
    if (version < 150000) throw new Error(`Laurel needs PostgreSQL 15 or newer; this server is ${version}`);
  } finally {
    await client.end();
  }
}
