import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../bench/lib/http-client.ts';
import { startLaurel, type LaurelProcess } from '../../bench/lib/laurel-process.ts';
import { createProgram } from '../../src/programs/program-operations.ts';
import { startReceiver, verifySignature } from '../webhooks/support.ts';
import { alive, crashableCluster } from './crashable-cluster.ts';
import { check, Journal, newSummary, progress, publishSummary, verifyLedger } from './harness.ts';

const CRASHES = Number(process.env.CHAOS_PG_CRASHES ?? 2);
const OUTAGE_MS = 4_000;
const DELIVERY_WAIT_MS = 90_000;
const EARN_LOOPS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL stopped immediately while the inline worker delivers webhooks', async () => {
  const cluster = await crashableCluster('laurel-chaos-worker-');
  const { url, database } = cluster;
  const { program, apiKey } = await createProgram(database.db, { name: 'Chaos: worker outage', currency: 'USD', timeZone: 'Europe/Paris' });
  const receiver = await startReceiver();
  const laurel: LaurelProcess = await startLaurel({
    databaseUrl: url,
    env: {
      LAUREL_WORKER: 'inline',
      LAUREL_DB_POOL_SIZE: '8',
      // Retries and leases of seconds rather than minutes, so that whatever the outage left
      // half-done comes round again within the wait below; the receiver never fails, so a
      // delivery given up can only come from the worker's own handling of the outage.
      LAUREL_WEBHOOK_RETRY_SCHEDULE: '1s,2s,3s,5s,10s,20s',
      LAUREL_WEBHOOK_RETRY_JITTER: '0',
      LAUREL_WEBHOOK_TIMEOUT_MS: '3000',
      LAUREL_WEBHOOK_LEASE_MS: '5000',
      LAUREL_WORKER_POLL_MS: '200',
    },
  });
  // Laurel's lines that are not request logs (the worker's, the process guard's, a dying stack),
  // kept apart: the request logs of the outages would push them out of laurel.output().
  const plainLines: string[] = [];
  let partialLine = '';
  laurel.child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (partialLine + chunk.toString()).split('\n');
    partialLine = lines.pop()!;
    for (const line of lines) if (line.trim() && !line.startsWith('{') && plainLines.length < 10_000) plainLines.push(line);
  });
  const client = new HttpClient(laurel.port, 16, { authorization: `Bearer ${apiKey}` });
  const exited = () => laurel.child.exitCode !== null || laurel.child.signalCode !== null;
  afterAll(async () => {
    client.close();
    if (!exited()) await laurel.stop();
    await cluster.remove();
  });

  it('keeps the process alive, and delivers every acknowledged event once PostgreSQL is back', async () => {
    const summary = newSummary('PostgreSQL immediate stop (worker inline)');
    const journal = new Journal(summary);
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await client.request({ method, path: p, body, headers: { 'idempotency-key': randomUUID() }, timeoutMs: 30_000 });
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${res.text}`);
      return res.json();
    };
    // Every type, and before the members: each event of the program is then one the endpoint must get.
    const endpoint = await call('POST', '/v1/webhook-endpoints', { url: receiver.url, eventTypes: ['*'] });
    const members: string[] = [];
    for (let i = 0; i < 8; i++) members.push((await call('POST', '/v1/members', { customerId: `worker-outage-${randomUUID()}` })).id);

    let stopped = false;
    const earnLoop = async () => {
      while (!stopped && !exited()) {
        const member = members[Math.floor(Math.random() * members.length)]!;
        await journal.send(client, journal.track('earn', { method: 'POST', path: `/v1/members/${member}/earn`, body: { amount: 1 + Math.floor(Math.random() * 50), pendingUntil: null } }));
        await sleep(25);
      }
    };
    const loops = Promise.all(Array.from({ length: EARN_LOOPS }, earnLoop));
    const recoveries: string[] = [];
    let lastRestartAt = new Date();
    for (let i = 0; i < CRASHES && !exited(); i++) {
      await sleep(3_000);
      journal.phase = 'outage';
      await cluster.stopImmediately();
      progress(`PostgreSQL stopped immediately (${i + 1}/${CRASHES}), Laurel's worker mid-work`);
      await sleep(OUTAGE_MS);
      journal.phase = 'recovery';
      const restartedAt = Date.now();
      await cluster.restart();
      lastRestartAt = new Date();
      progress('PostgreSQL restarted');
      // Back when Laurel answers a read again; a Laurel that exited will not, so stop waiting.
      while (!exited()) {
        const res = await client.request({ method: 'GET', path: '/v1/ledger/verify', timeoutMs: 30_000 }).catch(() => undefined);
        if (res?.status === 200) break;
        if (Date.now() - restartedAt > 60_000) throw new Error('Laurel did not recover within 60 s of the restart');
        await sleep(200);
      }
      recoveries.push(`${((Date.now() - restartedAt) / 1000).toFixed(1)} s`);
      journal.phase = 'load';
    }
    if (!exited()) await sleep(2_000);
    stopped = true;
    await loops;

    const died = exited();
    check(summary, !died && alive(laurel.pid), `Laurel (pid ${laurel.pid}) exited during the outages (${laurel.child.exitCode ?? laurel.child.signalCode}): `
      + `${[...plainLines, partialLine].slice(-12).join(' | ').slice(0, 2000)}`);
    if (died) {
      publishSummary(summary);
      expect(summary.failures).toEqual([]);
      return;
    }
    await journal.settle(client);
    progress('earns settled; waiting for every event to reach the receiver');

    // What must arrive: every event of the program (all written after the endpoint), and among
    // them the points.earned of every acknowledged earn.
    const earned = journal.all.filter((e) => e.response && e.response.status < 300).map((e) => e.response!.body.operation.id as string);
    const deliveredIds = () => new Set(receiver.acknowledged().map((r) => r.id));
    const eventIds = async () => (await sql<{ id: string }>`select id::text from events where program_id = ${program.id}`.execute(database.db)).rows.map((r) => `evt_${r.id}`);
    const deadline = Date.now() + DELIVERY_WAIT_MS;
    let missing: string[] = [];
    const waitStartedAt = Date.now();
    for (;;) {
      const delivered = deliveredIds();
      missing = (await eventIds()).filter((id) => !delivered.has(id));
      if (missing.length === 0 || Date.now() > deadline || exited()) break;
      await sleep(500);
    }
    const allEvents = await eventIds();
    const earnedDelivered = new Set(receiver.acknowledged().filter((r) => r.json?.type === 'points.earned').map((r) => r.json.data.operationId as string));
    const earnsMissing = earned.filter((id) => !earnedDelivered.has(id));
    summary.effectsChecked += allEvents.length + earned.length;
    const { rows: [deliveries] } = await sql<{ failed: number; pending: number; succeeded: number; attempts: number }>`
      select count(*) filter (where status = 'failed')::int as failed, count(*) filter (where status = 'pending')::int as pending,
             count(*) filter (where status = 'succeeded')::int as succeeded, coalesce(sum(attempts), 0)::int as attempts
        from webhook_deliveries where endpoint_id = ${endpoint.id}`.execute(database.db);
    // A job the worker had taken before the database went away and never marked done or failed
    // stays locked for graphile-worker's four hours.
    const { rows: [stuck] } = await sql<{ jobs: number }>`
      select count(*)::int as jobs from graphile_worker._private_jobs where locked_at < ${lastRestartAt}`.execute(database.db);
    const badSignatures = receiver.received.filter((r) => !verifySignature(endpoint.secret, r)).length;
    const count = (pattern: RegExp) => plainLines.filter((l) => pattern.test(l)).length;
    // How the worker's pool went through the outages (its own log lines), and the rejections the
    // process guard still had to let go: the pool should leave none on the job completion path.
    const waits = count(/worker database unreachable/);
    const resent = count(/worker database connection lost during a statement/);
    const survived = plainLines.filter((l) => l.includes('unhandled rejection, going on'));
    summary.notes.push(`${CRASHES} immediate stops of ${OUTAGE_MS / 1000} s; answers during the outages: ${JSON.stringify(journal.seen.outage ?? {})}; `
      + `Laurel answered again ${recoveries.join(', ')} after each restart; ${earned.length} earns acknowledged, ${allEvents.length} events, `
      + `${receiver.acknowledged().length} delivered (${receiver.received.length} requests, ${deliveries!.attempts} attempts) within `
      + `${((Date.now() - waitStartedAt) / 1000).toFixed(1)} s of the load's end; the worker's pool waited for the database ${waits} times and sent `
      + `${resent} job completions again after a lost connection; ${survived.length} unhandled rejections survived${survived.length ? ` (${survived[0]!.slice(0, 200)})` : ''}`);

    check(summary, !exited() && alive(laurel.pid), `Laurel (pid ${laurel.pid}) exited after the outages (${laurel.child.exitCode ?? laurel.child.signalCode})`);
    check(summary, missing.length === 0, `${missing.length} of ${allEvents.length} events never reached the receiver within ${DELIVERY_WAIT_MS / 1000} s (e.g. ${missing.slice(0, 5).join(', ')})`);
    check(summary, earnsMissing.length === 0, `${earnsMissing.length} acknowledged earns have no points.earned delivered (e.g. operation ${earnsMissing[0]})`);
    check(summary, deliveries!.failed === 0, `${deliveries!.failed} deliveries given up`);
    check(summary, deliveries!.pending === 0, `${deliveries!.pending} deliveries still pending`);
    check(summary, stuck!.jobs === 0, `${stuck!.jobs} worker jobs still locked since before the last restart`);
    check(summary, badSignatures === 0, `${badSignatures} requests with a signature that does not verify`);
    await verifyLedger(client, summary, 'after PostgreSQL stops under the worker');
    publishSummary(summary);
    expect(summary.failures).toEqual([]);
  });
});
