import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { setupTestApp } from '../helpers.ts';
import { ledgerKit } from './ledger-kit.ts';

describe('idempotency of ledger mutations', async () => {
  const t = await setupTestApp();
  const k = ledgerKit(t);

  /** Raw request: the exact bytes of the response, to compare replays byte for byte. */
  const send = async (url: string, body: unknown, key: string, apiKey = t.program.key, app = t.app) => {
    const res = await app.inject({
      method: 'POST', url, payload: JSON.stringify(body),
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': key },
    });
    return { status: res.statusCode, payload: res.payload, replayed: res.headers['idempotent-replayed'] };
  };
  const earnOperations = async (memberId: string) =>
    (await t.db.db.selectFrom('operations').select('id').where('member_id', '=', memberId).where('kind', '=', 'earn').execute()).length;

  it('50 concurrent repeats of one earn: one effect, 50 identical responses', async () => {
    const m = await t.member();
    const key = randomUUID();
    const body = { amount: 100, pendingUntil: null, metadata: { zeta: 1, alpha: { b: 2, a: 1 } } };
    const results = await Promise.all(Array.from({ length: 50 }, () => send(`/v1/members/${m.id}/earn`, body, key)));
    expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(results.map((r) => r.payload)).size).toBe(1);
    expect(results.filter((r) => r.replayed === 'true')).toHaveLength(49);
    expect(await earnOperations(m.id)).toBe(1);
    expect((await k.balance(m.id)).available).toBe(100);
  });

  it('50 sequential repeats of one earn: one effect, the first response replayed each time', async () => {
    const m = await t.member();
    const key = randomUUID();
    const first = await send(`/v1/members/${m.id}/earn`, { amount: 100, pendingUntil: null }, key);
    expect(first).toMatchObject({ status: 201, replayed: undefined });
    // Later changes do not alter what a repeat returns: the response of the first request.
    await k.post(`/v1/members/${m.id}/spend`, { amount: 30 });
    for (let i = 0; i < 50; i++) {
      // The same request with its keys in another order is the same request.
      expect(await send(`/v1/members/${m.id}/earn`, { pendingUntil: null, amount: 100 }, key)).toEqual({ ...first, replayed: 'true' });
    }
    expect(await earnOperations(m.id)).toBe(1);
    expect((await k.balance(m.id)).available).toBe(70);
  });

  it('the same key for a different request is refused with 409 idempotency_key_reused', async () => {
    const m = await t.member();
    const key = randomUUID();
    expect((await send(`/v1/members/${m.id}/earn`, { amount: 100 }, key)).status).toBe(201);
    for (const [url, body] of [
      [`/v1/members/${m.id}/earn`, { amount: 101 }],
      [`/v1/members/${m.id}/spend`, { amount: 100 }],
      [`/v1/members/${(await t.member()).id}/earn`, { amount: 100 }],
    ] as const) {
      const res = await k.rejects(url, body, 409, 'idempotency_key_reused', { idempotencyKey: key });
      expect(res.detail).toContain(key);
    }
    expect(await earnOperations(m.id)).toBe(1);
  });

  it('a duplicate arriving while the first still runs gets 409 idempotency_key_in_use', async () => {
    const impatient = await buildApp({ db: t.db.db, config: loadConfig({ databaseUrl: t.db.url, rateLimitPerMinute: 1_000_000, idempotencyWaitMs: 200 }), clock: t.clock.now, logger: false });
    const m = await t.member();
    const key = randomUUID();
    // A long-running first request, as seen from the database: a transaction holding the key's lock.
    const first = new pg.Client({ connectionString: t.db.url });
    await first.connect();
    try {
      await first.query('begin');
      await first.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`${t.program.id}:${key}`]);
      const before = await k.snapshot(t.program.id);
      const res = await send(`/v1/members/${m.id}/earn`, { amount: 5 }, key, t.program.key, impatient);
      expect(res.status).toBe(409);
      expect(JSON.parse(res.payload).code).toBe('idempotency_key_in_use');
      expect(await k.snapshot(t.program.id)).toEqual(before);
      await first.query('commit');
      // Once the first is done, the retry runs (here the "first" stored nothing, so it is a first run).
      expect((await send(`/v1/members/${m.id}/earn`, { amount: 5 }, key, t.program.key, impatient)).status).toBe(201);
    } finally {
      await first.end();
      await impatient.close();
    }
  });

  it('a business failure stays failed for its key, even after the member has the points', async () => {
    const m = await t.member();
    const key = randomUUID();
    const failed = await send(`/v1/members/${m.id}/spend`, { amount: 10 }, key);
    expect(failed.status).toBe(422);
    expect(JSON.parse(failed.payload).code).toBe('insufficient_points');
    await t.earn(m.id, 100);
    expect(await send(`/v1/members/${m.id}/spend`, { amount: 10 }, key)).toEqual({ ...failed, replayed: 'true' });
    expect((await k.balance(m.id)).available).toBe(100);
  });

  it('an over-long key is a 400 on every mutating route, whatever its schema declares; nothing is written', async () => {
    const m = await t.member();
    const long = 'k'.repeat(256);
    const earn = await send(`/v1/members/${m.id}/earn`, { amount: 5, pendingUntil: null }, long);
    expect(earn.status).toBe(400);
    expect(JSON.parse(earn.payload).code).toBe('validation_failed');
    const del = await t.app.inject({ method: 'DELETE', url: '/v1/message-templates/welcome/en', headers: { authorization: `Bearer ${t.program.key}`, 'idempotency-key': long } });
    expect(del.statusCode).toBe(400);
    expect(await earnOperations(m.id)).toBe(0);
    expect((await send(`/v1/members/${m.id}/earn`, { amount: 5, pendingUntil: null }, 'k'.repeat(255))).status).toBe(201);
  });

  it('keys are scoped to the program: one key in two programs has two effects', async () => {
    const other = await t.newProgram();
    const [a, b] = [await t.member(), await t.member({}, other)];
    const key = randomUUID();
    expect((await send(`/v1/members/${a.id}/earn`, { amount: 10 }, key)).status).toBe(201);
    const there = await send(`/v1/members/${b.id}/earn`, { amount: 10 }, key, other.key);
    expect(there).toMatchObject({ status: 201, replayed: undefined });
    expect((await k.balance(b.id, 'points', other)).available).toBe(10);
  });
});
