import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../src/db/schema.ts';
import { afterAll, inject } from 'vitest';
import { loadConfig, type Config } from '../src/config.ts';
import { countStatements, createDatabase, type Database } from '../src/db/database.ts';
import { buildApp, type App } from '../src/http/app.ts';
import { createProgram, type WalletInput } from '../src/programs/program-operations.ts';

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh database for this test file, cloned from the migrated template; dropped afterwards. */
export async function createTestDatabase(poolSize = 20): Promise<Database & { url: string }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `laurel_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  // CREATE DATABASE … TEMPLATE needs the template to have no other sessions; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`create database ${name} template ${inject('pgTemplate')}`);
      break;
    } catch (error) {
      if (attempt > 50 || (error as { code?: string }).code !== '55006') throw error;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  const url = withDatabase(adminUrl, name);
  const database = createDatabase(url, poolSize);
  afterAll(async () => {
    await database.close();
    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    await cleanup.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await cleanup.end();
  });
  return { ...database, url };
}

/** A controllable clock: undefined means "use the database clock". */
export class TestClock {
  current: Date | undefined;
  constructor(start?: Date) {
    this.current = start;
  }
  now = (): Date | undefined => this.current;
  set(date: Date | string) {
    this.current = new Date(date);
  }
  advance(ms: number) {
    if (!this.current) throw new Error('clock is not fixed');
    this.current = new Date(this.current.getTime() + ms);
  }
}

export const DAY = 86_400_000;

export interface TestProgram {
  id: string;
  key: string;
}

export interface TestContext {
  app: App;
  db: Database & { url: string };
  clock: TestClock;
  program: TestProgram;
  newProgram(input?: Partial<Parameters<typeof createProgram>[1]>): Promise<TestProgram>;
  /** Sends a request as the given program (default: the main one). */
  call(method: string, url: string, options?: { body?: unknown; key?: string | null; idempotencyKey?: string | false; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  member(input?: Record<string, unknown>, program?: TestProgram): Promise<any>;
  earn(memberId: string, amount: number, extra?: Record<string, unknown>, program?: TestProgram): Promise<any>;
}

export async function setupTestApp(options: { config?: Partial<Config>; clock?: TestClock; program?: Partial<Parameters<typeof createProgram>[1]> & { wallets?: WalletInput[] } } = {}): Promise<TestContext> {
  const db = await createTestDatabase();
  const clock = options.clock ?? new TestClock();
  const config = loadConfig({ databaseUrl: db.url, rateLimitPerMinute: 1_000_000, idempotencyWaitMs: 5_000, ...options.config });
  const app = await buildApp({ db: db.db, config, clock: clock.now, logger: false });
  afterAll(async () => {
    await app.close();
  });
  const newProgram = async (input: Partial<Parameters<typeof createProgram>[1]> = {}): Promise<TestProgram> => {
    const { program, apiKey } = await createProgram(db.db, { name: 'Test shop', currency: 'USD', timeZone: 'America/New_York', ...input });
    return { id: program.id, key: apiKey };
  };
  const program = await newProgram(options.program);
  const call: TestContext['call'] = async (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const key = opts.key === undefined ? program.key : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    if (opts.idempotencyKey !== false && method !== 'GET' && opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
    if (opts.idempotencyKey === undefined && method === 'POST') headers['idempotency-key'] = randomUUID();
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(opts.body !== undefined ? { payload: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body), headers: { 'content-type': 'application/json', ...headers } } : {}),
    });
    let body: unknown = response.body;
    try {
      body = response.json();
    } catch {
      // not JSON
    }
    return { status: response.statusCode, body, headers: response.headers as Record<string, unknown> };
  };
  const ctx: TestContext = {
    app, db, clock, program, newProgram, call,
    async member(input = {}, as = program) {
      const res = await call('POST', '/v1/members', { body: { customerId: `c-${randomUUID()}`, ...input }, key: as.key });
      if (res.status !== 201) throw new Error(`member creation failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async earn(memberId, amount, extra = {}, as = program) {
      const res = await call('POST', `/v1/members/${memberId}/earn`, { body: { amount, pendingUntil: null, ...extra }, key: as.key });
      if (res.status !== 201) throw new Error(`earn failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
  };
  return ctx;
}

/**
 * Counts the statements sent on every connection of a pool (each wrapped as it is first lent
 * out): round trips are a designed property of the hot paths, tested by count, never by time.
 */
export function statementCounter(pool: pg.Pool) {
  const counter = { count: 0 };
  const wrapped = new WeakSet<object>();
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    countStatements(client, () => counter.count++);
  });
  return counter;
}

/**
 * A failure only a shared transaction meets, for testing a group commit's fallback: a
 * statement-level trigger refuses an insert of several rows into `table` when one of them has
 * `column` = `marker`. A sequence, which no rollback undoes, counts the batches refused
 * (`refused()`), so a test knows the fallback ran. `drop()` removes it all.
 */
export async function failMarkedBatches(db: Kysely<DB>, on: { table: string; column: string; marker: string }) {
  const name = `fail_marked_${on.table}`;
  await db.transaction().execute(async (trx) => {
    await sql`create sequence ${sql.id(`${name}_count`)}`.execute(trx);
    await sql`create function ${sql.id(name)}() returns trigger language plpgsql as ${sql.lit(`
      begin
        if (select count(*) from inserted) > 1 and exists (select 1 from inserted where ${on.column} = '${on.marker.replace(/'/g, "''")}') then
          perform nextval('${name}_count');
          raise exception 'a batch with a marked row';
        end if;
        return null;
      end`)}`.execute(trx);
    await sql`create trigger ${sql.id(name)} after insert on ${sql.id(on.table)} referencing new table as inserted
      for each statement execute function ${sql.id(name)}()`.execute(trx);
  });
  return {
    async refused() {
      const { rows } = await sql<{ n: string }>`select last_value as n from ${sql.id(`${name}_count`)} where is_called`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },
    async drop() {
      await sql`drop trigger ${sql.id(name)} on ${sql.id(on.table)}; drop function ${sql.id(name)}(); drop sequence ${sql.id(`${name}_count`)}`.execute(db);
    },
  };
}

/** A connection of its own (not from a pool), for a test that orders two sessions' statements by hand. */
export async function connectSession(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
