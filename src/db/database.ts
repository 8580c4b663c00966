import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';

// bigint columns hold points and minor units; every amount is constrained below 2^53 in the
// schema, so reading them as JS numbers is exact. A value outside that range is a broken
// invariant and must fail loudly rather than round.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`bigint ${value} is outside the safe integer range`);
  return n;
});
// `date` columns (birthdays) are calendar dates, not instants: keep them as YYYY-MM-DD.
pg.types.setTypeParser(pg.types.builtins.DATE, (value: string) => value);

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(connectionString: string, poolSize = 20): Database {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    // A restarted server leaves dead sockets in the pool; pg drops a client after an error,
    // so new checkouts reconnect by themselves.
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // Without a listener, a connection error (server restarted, Ctrl-C reaching the embedded
  // server first) would crash the process: idle clients report through the pool, checked-out
  // clients through their own 'error' event. A broken client is dropped when released.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    async close() {
      await db.destroy();
    },
  };
}

/** Database time, so that app-server clock skew never changes vesting or expiry. */
export async function databaseNow(executor: Executor): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select now() as now`.execute(executor);
  return rows[0]!.now;
}

/** Runs `work` in the caller's transaction when there is one, otherwise in a new transaction. */
export async function withTransaction<T>(executor: Executor, work: (trx: Tx) => Promise<T>): Promise<T> {
  return executor.isTransaction ? work(executor as Tx) : (executor as Db).transaction().execute(work);
}
