import net from 'node:net';
import { batchCompleteJobs } from 'graphile-worker/dist/sql/completeJobs.js';
import { batchFailJobs, failJobs } from 'graphile-worker/dist/sql/failJobs.js';
import { batchGetJobs } from 'graphile-worker/dist/sql/getJobs.js';
import { resetLockedAt } from 'graphile-worker/dist/sql/resetLockedAt.js';
import { returnJobs } from 'graphile-worker/dist/sql/returnJobs.js';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/db/embedded-postgres.ts';
import { PatientPool } from '../../src/jobs/patient-pool.ts';
import { settlesJobs } from '../../src/jobs/worker.ts';

/**
 * The test server behind a TCP relay that can be closed and opened, so that "the database is
 * down" is a refused connection on a known port without stopping the suite's server.
 */
async function relay() {
  const target = new URL(inject('pgAdminUrl'));
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  // The suite's URL may name a Unix socket folder; the relay is TCP.
  url.searchParams.delete('host');
  const close = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
  afterAll(close);
  return {
    url: url.toString(),
    open: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close,
  };
}

const settledWithin = async <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('PatientPool', () => {
  it('waits while the database refuses connections, and connects once it is back', async () => {
    const db = await relay();
    const log: string[] = [];
    const pool = new PatientPool({ connectionString: db.url, max: 2 }, { log: (level, message) => log.push(`${level}: ${message}`) });
    afterAll(() => pool.end());
    const connecting = pool.connect();
    expect(await settledWithin(connecting, 1_000)).toBe(false);
    expect(log).toEqual([expect.stringMatching(/^warning: worker database unreachable \(connect ECONNREFUSED .*\); waiting for it$/)]);
    await db.open();
    const client = await connecting;
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    client.release();
    expect(log.at(-1)).toBe('warning: worker database is reachable again');
  });

  it('gives up at once when told to stop waiting, and fails as before from then on', async () => {
    const db = await relay();
    // Ten minutes between attempts: only stopWaiting() can end the wait within the test's time
    // limit, so the rejection itself shows the waiting call was woken, with no timing asserted.
    const pool = new PatientPool({ connectionString: db.url, max: 2 }, { retryDelayMs: { first: 600_000, max: 600_000 } });
    afterAll(() => pool.end());
    const connecting = pool.connect();
    expect(await settledWithin(connecting, 300)).toBe(false);
    pool.stopWaiting();
    await expect(connecting).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(pool.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('does not wait out an error that is not an outage', async () => {
    const db = await relay();
    await db.open();
    const url = new URL(db.url);
    url.pathname = '/laurel_no_such_database';
    const pool = new PatientPool({ connectionString: url.toString(), max: 2 });
    afterAll(() => pool.end());
    await expect(pool.connect()).rejects.toMatchObject({ code: '3D000' });
  });

  it('leaves the callback form (graphile-worker’s LISTEN client, which reconnects by itself) as it was', async () => {
    const db = await relay();
    const pool = new PatientPool({ connectionString: db.url, max: 2 });
    afterAll(() => pool.end());
    const error = await new Promise<Error | undefined>((resolve) => pool.connect((err) => resolve(err)));
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('sends a repeatable statement again once the database is back when its connection broke under it; any other fails as before', async () => {
    const db = await relay();
    await db.open();
    const log: string[] = [];
    const pool = new PatientPool({ connectionString: db.url, max: 4 }, { log: (_level, message) => log.push(message), repeatable: (q) => String(q).includes('again') });
    afterAll(() => pool.end());
    // As startWorker does: a checked-out connection the server ends emits 'error'.
    pool.on('connect', (client) => client.on('error', () => {}));
    const repeated = await pool.connect();
    const other = await pool.connect();
    // The server goes away under connections the pool still holds as good.
    await db.close();
    const answer = repeated.query("select 'again' as word");
    await expect(other.query('select 1')).rejects.toSatisfy((e: Error) => /Connection terminated|not queryable|ECONNRESET/.test(e.message));
    other.release(true);
    expect(await settledWithin(answer, 500)).toBe(false);
    await db.open();
    expect((await answer).rows).toEqual([{ word: 'again' }]);
    repeated.release();
    expect(log.some((m) => m.startsWith('worker database connection lost during a statement'))).toBe(true);
    // The broken connections were destroyed, the new one returned: nothing is left checked out.
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });
});

describe('settlesJobs', () => {
  // graphile-worker's own statements, captured from its modules, so that an upgrade that changes
  // them shows here rather than as a worker that no longer survives an outage.
  async function statements(run: (withPgClient: never) => Promise<unknown>): Promise<string[]> {
    const texts: string[] = [];
    const withPgClient = Object.assign(
      async (callback: (client: unknown) => Promise<unknown>) => callback({
        query: async (q: string | { text: string }) => {
          texts.push(typeof q === 'string' ? q : q.text);
          return { rows: [{ id: 1, identifier: 'task' }] };
        },
      }),
      { withRetries: undefined as unknown },
    );
    withPgClient.withRetries = withPgClient;
    await run(withPgClient as never);
    return texts;
  }
  const options = {
    escapedWorkerSchema: '"graphile_worker"', workerSchema: 'graphile_worker',
    resolvedPreset: { worker: { preparedStatements: true, useNodeTime: false } }, logger: { error() {}, debug() {} },
  } as never;
  const job = (id: string, queue: number | null) => ({ id, job_queue_id: queue }) as never;

  it('recognises completing, failing, returning and unlocking jobs', async () => {
    const settling = [
      ...await statements((w) => batchCompleteJobs(options, w, 'pool', [job('1', null)])),
      ...await statements((w) => batchCompleteJobs(options, w, 'pool', [job('1', null), job('2', null), job('3', 7)])),
      ...await statements((w) => batchFailJobs(options, w, 'pool', [{ job: job('1', null), message: 'x', replacementPayload: undefined }, { job: job('2', 7), message: 'y', replacementPayload: undefined }])),
      ...await statements((w) => failJobs(options, w, 'pool', [job('1', null)], 'stopping')),
      ...await statements((w) => returnJobs(options, w, 'pool', [job('1', null), job('2', 7)])),
      ...await statements((w) => resetLockedAt(options, w)),
    ];
    expect(settling).toHaveLength(9);
    for (const text of settling) expect(settlesJobs({ text }), text).toBe(true);
  });

  it('leaves out taking a job (twice would take two) and everything else', async () => {
    const others = await statements((w) => batchGetJobs(options, w, { task: async () => {} }, 'pool', [], 1));
    expect(others).toHaveLength(3);
    for (const text of [...others, 'select * from "graphile_worker".add_job(identifier => $1::text)', 'begin', 'select 1']) {
      expect(settlesJobs({ text }), text).toBe(false);
      expect(settlesJobs(text), text).toBe(false);
    }
    expect(settlesJobs(undefined)).toBe(false);
  });
});
