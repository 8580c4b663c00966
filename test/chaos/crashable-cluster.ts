import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded-postgres.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { ensureDatabase } from '../../src/db/resolve-database.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function alive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface CrashableCluster {
  /** The migrated `laurel` database on it. */
  url: string;
  /** A small pool of the test's own on that database. */
  database: Database;
  /** `pg_ctl stop -m immediate`: SIGQUIT to the postmaster; no checkpoint, crash recovery on the next start. */
  stopImmediately(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Closes the test's pool, stops the server and removes its files. */
  remove(): Promise<void>;
}

/**
 * A PostgreSQL cluster of the test's own, since the test kills it. Commits stay synchronous (the
 * default), so an acknowledged request is on disk before its answer; fsync is off only because
 * the machine itself does not crash here.
 */
export async function crashableCluster(prefix: string): Promise<CrashableCluster> {
  const dataDir = await mkdtemp(path.join(process.env.LAUREL_TEST_TMPDIR ?? os.tmpdir(), prefix));
  await chmod(dataDir, 0o755);
  const port = await freePort();
  const start = () => startEmbeddedPostgres({ dataDir, port, postgresFlags: ['-c', 'fsync=off'] });
  let server: EmbeddedServer = await start();
  await ensureDatabase(server.url('postgres'), 'laurel');
  const url = server.url('laurel');
  const database = createDatabase(url, 2);
  await migrateToLatest(database.db);
  return {
    url,
    database,
    async stopImmediately() {
      const pid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGQUIT');
      for (let i = 0; i < 200 && alive(pid); i++) await sleep(50);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    },
    async restart() {
      server = await start();
    },
    async remove() {
      await database.close();
      await server.stop().catch(() => {});
      if (existsSync(dataDir)) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
