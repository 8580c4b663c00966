import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../bench/lib/http-client.ts';
import { startLaurel } from '../../bench/lib/laurel-process.ts';
import { databaseNow } from '../../src/db/database.ts';
import { createProgram } from '../../src/programs/program-operations.ts';
import { createTestDatabase } from '../helpers.ts';
import { check, newSummary, progress, publishSummary, verifyLedger } from './harness.ts';

const SKEW_MS = 3 * 86_400_000;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('application clock skewed against the database clock', async () => {
  const db = await createTestDatabase(4);
  const wallets = [{ code: 'points', name: 'Points', expiry: { kind: 'days_after_earn' as const, count: 30 } }];
  const straight = await createProgram(db.db, { name: 'Chaos: clock', currency: 'USD', timeZone: 'Pacific/Auckland', wallets });
  const skewed = await createProgram(db.db, { name: 'Chaos: skewed clock', currency: 'USD', timeZone: 'Pacific/Auckland', wallets });
  const normal = await startLaurel({ databaseUrl: db.url });
  const ahead = await startLaurel({ databaseUrl: db.url, preload: [path.join(HERE, 'skewed-clock.mjs')], env: { LAUREL_CLOCK_SKEW_MS: String(SKEW_MS) } });
  const clients = [new HttpClient(normal.port, 4, { authorization: `Bearer ${straight.apiKey}` }), new HttpClient(ahead.port, 4, { authorization: `Bearer ${skewed.apiKey}` })];
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([normal.stop(), ahead.stop()]);
  });

  it('vests, expires and times out at the same database instants whatever the server clock says', async () => {
    const summary = newSummary('clock skew (+3 days on one server)');
    const call = async (client: HttpClient, method: string, p: string, body?: unknown) => {
      summary.requestsSent++;
      const res = await client.request({ method, path: p, body, headers: method === 'POST' ? { 'idempotency-key': randomUUID() } : {}, timeoutMs: 30_000 });
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${res.text}`);
      summary.acknowledged++;
      return res.json();
    };
    // The skew is live: the skewed server's own clock (the import report's startedAt) runs three days ahead.
    const served = await clients[1]!.request({ method: 'POST', path: '/v1/imports/members?dryRun=true', body: 'customer_id\n', headers: { 'content-type': 'text/csv' } });
    const lead = Date.parse(served.json().startedAt) - Date.now();
    check(summary, lead > SKEW_MS - 60_000, `the skewed server's clock is only ${lead} ms ahead`);
    const t0 = (await databaseNow(db.db)).getTime();
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    // The same story on both servers: points pending for 15 s, points expiring at 20 s, a
    // checkout hold timing out after 15 s, and a default (policy) expiry.
    const story = async (client: HttpClient) => {
      const m = await call(client, 'POST', '/v1/members', { customerId: `clock-${randomUUID()}` });
      const pending = await call(client, 'POST', `/v1/members/${m.id}/earn`, { amount: 100, pendingUntil: at(15) });
      const expiring = await call(client, 'POST', `/v1/members/${m.id}/earn`, { amount: 50, pendingUntil: null, expiresAt: at(20) });
      const hold = await call(client, 'POST', `/v1/members/${m.id}/reservations`, { amount: 10, timeoutMs: 15_000 });
      const early = await call(client, 'GET', `/v1/members/${m.id}/balances/points`);
      return { m, pending, expiring, hold, early };
    };
    const [a, b] = await Promise.all(clients.map(story));
    const dbNowEarly = (await databaseNow(db.db)).getTime();
    progress('stories written; waiting for the database clock to pass every deadline');
    await sleep(Math.max(0, t0 + 22_000 - Date.now()));
    await Promise.all(clients.map((c) => call(c, 'POST', '/v1/ledger/maintenance', {})));
    const late = await Promise.all([a, b].map((s, i) => call(clients[i]!, 'GET', `/v1/members/${s!.m.id}/balances/points`)));
    const lots = await Promise.all([a, b].map((s, i) => call(clients[i]!, 'GET', `/v1/members/${s!.m.id}/lots?includeEmpty=true`)));

    // What each server decided, as offsets from the instant of the operation (the database's).
    const shape = (s: NonNullable<typeof a>, lateBalance: any, lotList: any) => ({
      pendingLot: { vested: s.pending.lot.vested, vestsIn: Date.parse(s.pending.lot.vestsAt) - t0, expiresAfterEarn: Date.parse(s.pending.lot.expiresAt) - Date.parse(s.pending.lot.createdAt) },
      expiringLot: { expiresIn: Date.parse(s.expiring.lot.expiresAt) - t0 },
      holdTimeout: Date.parse(s.hold.reservation.expiresAt) - Date.parse(s.hold.reservation.createdAt),
      early: { available: s.early.available, pending: s.early.pending, reserved: s.early.reserved },
      late: { available: lateBalance.available, pending: lateBalance.pending, reserved: lateBalance.reserved, expired: lateBalance.lifetime.expired },
      lots: lotList.data.map((l: any) => ({ amount: l.amount, remaining: l.remaining, vested: l.vested })).sort((x: any, y: any) => x.amount - y.amount),
    });
    const expected = shape(a!, late[0], lots[0]);
    const actual = shape(b!, late[1], lots[1]);
    summary.effectsChecked += 2;
    check(summary, JSON.stringify(actual) === JSON.stringify(expected), `skewed server decided differently:\n${JSON.stringify(actual)}\nvs\n${JSON.stringify(expected)}`);
    check(summary, expected.pendingLot.expiresAfterEarn === 30 * 86_400_000, `policy expiry is not 30 days after the earn: ${expected.pendingLot.expiresAfterEarn}`);
    check(summary, expected.holdTimeout === 15_000, `hold timeout ${expected.holdTimeout} ms`);
    if (dbNowEarly < t0 + 15_000) {
      check(summary, JSON.stringify(expected.early) === JSON.stringify({ available: 40, pending: 100, reserved: 10 }), `early balance ${JSON.stringify(expected.early)}`);
    } else summary.notes.push('the early balances were read too late to compare with the expected pre-deadline state (slow machine)');
    check(summary, JSON.stringify(expected.late) === JSON.stringify({ available: 100, pending: 0, reserved: 0, expired: 50 }), `late balance ${JSON.stringify(expected.late)}`);
    // Every instant the skewed server stored is the database's, not its own.
    const { rows } = await sql<{ latest: Date }>`select max(created_at) as latest from operations where program_id = ${skewed.program.id}`.execute(db.db);
    check(summary, rows[0]!.latest.getTime() < (await databaseNow(db.db)).getTime() + 1_000, `the skewed server stored operations in the future: ${rows[0]!.latest.toISOString()}`);
    for (const c of clients) await verifyLedger(c, summary, 'clock skew');
    publishSummary(summary);
    expect(summary.failures).toEqual([]);
  });
});
