import { createHash } from 'node:crypto';
import { CompiledQuery, Kysely, PostgresDialect, sql, type QueryResult, type Transaction } from 'kysely';
import pg from 'pg';
import { prepareValue } from 'pg/lib/utils.js';
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

/** Distinct named statements one connection keeps at most; past it, new texts go unnamed. */
const MAX_PREPARED_PER_CONNECTION = 1_000;
const names = new Map<string, string>();

/** A stable name per statement text (the same on every connection). */
function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    if (names.size >= 20_000) names.clear();
    name = `l${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return name;
}

/** Opens the text of a statement to be sent together with its transaction's COMMIT (executeWithCommit). */
const WITH_COMMIT = '/* with commit */ ';

/** Marks the result of a COMMIT or ROLLBACK answered without a round trip (its transaction had ended with executeWithCommit). */
const ANSWERED_LOCALLY = Symbol('answered without a round trip');

/**
 * A string as a PostgreSQL literal, written exactly as node-postgres's `escapeLiteral` writes it
 * (quotes doubled; with a backslash, an `E''` literal with backslashes doubled). That function
 * builds its result a character at a time: for the stored response of every ledger mutation
 * (`executeWithCommit`) it made a third of all the memory an earn allocated, and the garbage
 * collector's work with it.
 */
export function quoteLiteral(value: string): string {
  const hasQuote = value.includes("'");
  const hasBackslash = value.includes('\\');
  if (!hasQuote && !hasBackslash) return `'${value}'`;
  const quoted = `'${hasQuote ? value.replaceAll("'", "''") : value}'`;
  return hasBackslash ? ` E${quoted.replaceAll('\\', '\\\\')}` : quoted;
}

/**
 * A statement's parameters written into its text as literals, for the simple query protocol
 * (the only one that carries two statements in one message). Each value goes through the
 * driver's own conversion and is sent as a quoted literal of unknown type, resolved by its
 * context exactly as an untyped parameter is (node-postgres sends every parameter that way).
 */
export function inlineParameters(text: string, values: readonly unknown[]): string {
  const used = new Set<number>();
  const inlined = text.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= values.length) throw new Error(`parameter $${n} of ${values.length}`);
    used.add(index);
    const value = prepareValue(values[index]) as string | Buffer | null;
    if (value === null) return 'null';
    return quoteLiteral(Buffer.isBuffer(value) ? `\\x${value.toString('hex')}` : value);
  });
  if (used.size !== values.length) throw new Error(`${values.length} parameters, ${used.size} placeholders`);
  return inlined;
}

/**
 * Wraps a connection's query method:
 *
 * - Every statement with parameters becomes a named prepared statement on its connection
 *   (unless `prepare` is false). Planning a hot statement again on every execution costs more
 *   than executing it (the balance read: 1.6 ms planned every time against 0.4 ms prepared,
 *   measured sequentially on the bench machine); prepared, PostgreSQL plans it a few times and
 *   then keeps a generic plan when that is as good.
 * - A statement marked by executeWithCommit goes out with COMMIT in one message, and the COMMIT
 *   (or ROLLBACK) Kysely then sends to end that transaction is answered here: it already ended.
 *   Anything else after it would run outside the transaction, so it is refused.
 */
function wrapQueries(client: pg.PoolClient, prepare: boolean) {
  const original = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const prepared = new Set<string>();
  let ended = false;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const [text, values] = args;
    if (ended) {
      if (text !== 'commit' && text !== 'rollback') return Promise.reject(new Error('a statement after executeWithCommit: its transaction has ended'));
      ended = false;
      return Promise.resolve({ command: text.toUpperCase(), rowCount: null, rows: [], fields: [], [ANSWERED_LOCALLY]: true });
    }
    if (typeof text === 'string' && text.startsWith(WITH_COMMIT) && args.length <= 2) {
      return original(`${inlineParameters(text, Array.isArray(values) ? values : [])};\ncommit`).then((results) => {
        ended = true;
        return (results as unknown[])[0];
      });
    }
    if (prepare && typeof text === 'string' && Array.isArray(values) && values.length > 0 && args.length === 2) {
      const name = statementName(text);
      if (prepared.has(name) || prepared.size < MAX_PREPARED_PER_CONNECTION) {
        prepared.add(name);
        return original({ name, text, values });
      }
    }
    return original(...args);
  };
}

/**
 * Calls `sent` for each statement a connection sends to PostgreSQL (for tests and benchmarks that
 * count round trips); a COMMIT answered without a round trip (executeWithCommit) is not counted.
 */
export function countStatements(client: pg.PoolClient, sent: () => void) {
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = async (...args: unknown[]) => {
    let result: unknown;
    try {
      result = await query(...args);
    } finally {
      if (!(result && typeof result === 'object' && ANSWERED_LOCALLY in result)) sent();
    }
    return result;
  };
}

/**
 * Runs a transaction's last statement and its COMMIT in one round trip, and returns the
 * statement's result: the transaction has committed when this returns, and nothing may follow it
 * in the transaction (the wrapper refuses anything but Kysely's own end of the transaction).
 * When the statement fails, nothing is committed, and the transaction ends as a failed one does.
 * The statement goes unprepared, its parameters written in as literals (inlineParameters): meant
 * for a short insert whose planning costs less than a round trip.
 */
export async function executeWithCommit<R>(trx: Tx, query: CompiledQuery<R>): Promise<QueryResult<R>> {
  return trx.executeQuery(CompiledQuery.raw(WITH_COMMIT + query.sql, [...query.parameters])) as Promise<QueryResult<R>>;
}

export function createDatabase(connectionString: string, poolSize = 20, options: { prepare?: boolean } = {}): Database {
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
    wrapQueries(client, options.prepare ?? true);
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

/**
 * The database's clock, from an instant it gave (`now()` read with a claim) carried forward by the
 * time elapsed here: times computed later in the same piece of work stay on the clock they are
 * judged by, whatever this server's own clock says.
 */
export function clockFrom(databaseInstant: Date): () => Date {
  const offsetMs = databaseInstant.getTime() - Date.now();
  return () => new Date(Date.now() + offsetMs);
}

/** Database time, so that app-server clock skew never changes vesting or expiry. */
export async function databaseNow(executor: Executor): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select now() as now`.execute(executor);
  return rows[0]!.now;
}

/**
 * One trivial statement, for `GET /health`. A plain `sql` statement, not the query builder:
 * probes call it often, and building the same `select 1` cost more CPU than the rest of the
 * request (docs/benchmarks.md, "Laurel's code around a request").
 */
export async function ping(executor: Executor): Promise<void> {
  await sql`select 1`.execute(executor);
}

/**
 * Plans each statement of the rest of the transaction for its actual parameters (SET LOCAL). A
 * named prepared statement gets a generic plan after five executions, which assumes 10 rows for
 * the unnest of an array parameter; a batch job's statement over thousands of ids then
 * nest-loops where it should hash (the tier review's effective-tier pass: 4 s a batch at a
 * million members instead of 0.6 s). Beside such statements, planning each time costs nothing.
 */
export async function planEachExecution(trx: Tx): Promise<void> {
  await sql`set local plan_cache_mode = force_custom_plan`.execute(trx);
}

/** Runs `work` in the caller's transaction when there is one, otherwise in a new transaction. */
export async function withTransaction<T>(executor: Executor, work: (trx: Tx) => Promise<T>): Promise<T> {
  return executor.isTransaction ? work(executor as Tx) : (executor as Db).transaction().execute(work);
}
