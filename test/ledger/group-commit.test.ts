import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { failMarkedBatches, setupTestApp, statementCounter } from '../helpers.ts';
import { ledgerKit } from './ledger-kit.ts';

/**
 * Group commit of earns (docs/architecture.md, "Group commit"): concurrent earns share
 * transactions, and each request keeps every guarantee it has alone — one effect per key,
 * refusals as documented, answers only after commit, the balance it saw in its answer.
 */
describe('earns under group commit', async () => {
  const t = await setupTestApp();
  const k = ledgerKit(t);
  const times = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));
  const statuses = (results: { status: number }[]) => {
    const counts: Record<number, number> = {};
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  };

  const statements = statementCounter(t.db.pool);

  it('60 concurrent earns over 4 members share transactions, and each answer shows the balance right after it', async () => {
    const members = await times(4, () => t.member());
    for (const m of members) await t.earn(m.id, 1);
    statements.count = 0;
    const results = await times(60, (i) => t.call('POST', `/v1/members/${members[i % 4].id}/earn`, { body: { amount: i + 1 } }));
    expect(statuses(results)).toEqual({ 201: 60 });
    // Alone, an earn is 8 statements; shared, far fewer per earn.
    expect(statements.count).toBeLessThan(60 * 6);
    for (const [n, m] of members.entries()) {
      const amounts = Array.from({ length: 15 }, (_, j) => 4 * j + n + 1);
      const mine = results.filter((r) => r.body.operation.memberId === m.id);
      expect(mine.map((r) => r.body.operation.amount).sort((a, b) => a - b)).toEqual(amounts);
      // Applied one after another: the answers' balances are the running totals, in the order applied.
      const seen = mine.map((r) => r.body.balance.available).sort((a, b) => a - b);
      const byBalance = [...mine].sort((a, b) => a.body.balance.available - b.body.balance.available);
      let running = 1;
      expect(seen).toEqual(byBalance.map((r) => (running += r.body.operation.amount)));
      expect((await k.balance(m.id)).available).toBe(1 + amounts.reduce((a, b) => a + b, 0));
      expect(mine.every((r) => r.body.lot.remaining === r.body.operation.amount && r.body.lot.operationId === r.body.operation.id)).toBe(true);
    }
    const events = await t.db.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('program_id', '=', t.program.id).where('type', '=', 'points.earned')
      .where('member_id', 'in', members.map((m) => m.id)).executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(64);
    // Every earn, alone or grouped, recorded its tier activity (written by the earn's own statement
    // in a program without a ladder), which a ladder added later counts.
    const activity = await t.db.db.selectFrom('tier_metric_events').select(['source_id', 'amount'])
      .where('program_id', '=', t.program.id).where('metric', '=', 'points_earned').where('source_type', '=', 'ledger.earn')
      .where('member_id', 'in', members.map((m) => m.id)).execute();
    expect(activity).toHaveLength(64);
    expect(activity.reduce((sum, a) => sum + Number(a.amount), 0)).toBe(4 + (60 * 61) / 2);
    await k.verify();
  });

  it('the same key sent 12 times at once has one effect; the others replay its answer', async () => {
    const m = await t.member();
    await t.earn(m.id, 1);
    const key = randomUUID();
    const results = await times(12, () => t.call('POST', `/v1/members/${m.id}/earn`, { body: { amount: 7 }, idempotencyKey: key }));
    expect(statuses(results)).toEqual({ 201: 12 });
    expect(results.filter((r) => r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect((await k.balance(m.id)).available).toBe(8);
    const other = await t.call('POST', `/v1/members/${m.id}/earn`, { body: { amount: 8 }, idempotencyKey: key });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_key_reused');
  });

  it('a batch mixing good earns with refused and invalid ones: each gets its own answer, only the good ones write', async () => {
    const [good, blocked, fresh] = await times(3, () => t.member());
    for (const m of [good, blocked]) await t.earn(m.id, 1);
    expect((await t.call('PATCH', `/v1/members/${blocked.id}`, { body: { status: 'blocked' } })).status).toBe(200);
    const missing = randomUUID();
    const keys = Array.from({ length: 5 }, () => randomUUID());
    const requests = [
      { member: good.id, body: { amount: 5 } },
      { member: blocked.id, body: { amount: 5 } },
      { member: missing, body: { amount: 5 } },
      { member: good.id, body: { amount: 5, expiresAt: '2001-01-01T00:00:00Z' } },
      { member: fresh.id, body: { amount: 5 } },
    ];
    const send = () => Promise.all(requests.map((r, i) => t.call('POST', `/v1/members/${r.member}/earn`, { body: r.body, idempotencyKey: keys[i] })));
    const results = await send();
    expect(results.map((r) => r.status)).toEqual([201, 409, 404, 400, 201]);
    expect(results.map((r) => r.body.code)).toEqual([undefined, 'member_blocked', 'member_not_found', 'validation_failed', undefined]);
    expect((await k.balance(good.id)).available).toBe(6);
    expect((await k.balance(blocked.id)).available).toBe(1);
    // A member's first earn creates their wallet on the single path.
    expect((await k.balance(fresh.id)).available).toBe(5);
    // Refusals are stored like answers; the invalid request stored nothing, as alone.
    const again = await send();
    expect(again.map((r) => r.status)).toEqual([201, 409, 404, 400, 201]);
    expect(again.map((r) => r.headers['idempotent-replayed'] ?? null)).toEqual(['true', 'true', 'true', null, 'true']);
    await k.verify();
  });

  /**
   * 30 concurrent earns of 10 (each member holding 1), the last one marked so that a batch holding
   * it fails (failMarkedBatches): every request must still be answered 201 and earn exactly once.
   */
  const earnsWithOneMarked = async (mark: Parameters<typeof failMarkedBatches>[1], marking: { body?: object; idempotencyKey?: string }) => {
    const marked = await failMarkedBatches(t.db.db, mark);
    try {
      const members = await times(30, () => t.member());
      for (const m of members) await t.earn(m.id, 1);
      const results = await times(30, (i) => t.call('POST', `/v1/members/${members[i]!.id}/earn`, {
        ...(i === 29 ? marking : {}), body: { amount: 10, ...(i === 29 ? marking.body : {}) },
      }));
      expect(statuses(results)).toEqual({ 201: 30 });
      expect(await marked.refused()).toBeGreaterThan(0);
      for (const m of members) expect((await k.balance(m.id)).available).toBe(11);
      await k.verify();
      return members;
    } finally {
      await marked.drop();
    }
  };

  it('a batch whose transaction fails sends each of its requests on alone: one cannot fail the others', async () => {
    await earnsWithOneMarked({ table: 'operations', column: 'description', marker: 'fail my batch' }, { body: { description: 'fail my batch' } });
  });

  it('a batch that fails at its last statement (the answers stored with the COMMIT) commits none of its earns; each then runs alone once', async () => {
    const members = await earnsWithOneMarked({ table: 'idempotency_keys', column: 'key', marker: 'fail-my-batch' }, { idempotencyKey: 'fail-my-batch' });
    // The marked request's answer was stored once, by its own run, and replays.
    const again = await t.call('POST', `/v1/members/${members[29]!.id}/earn`, { body: { amount: 10 }, idempotencyKey: 'fail-my-batch' });
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await k.balance(members[29]!.id)).available).toBe(11);
  });

  it('answers the same as an app without group commit', async () => {
    const alone = await setupTestApp({ config: { groupCommitBatches: 0 } });
    const shape = async (ctx: typeof t) => {
      const m = await ctx.member();
      await ctx.earn(m.id, 3);
      const r = await ctx.call('POST', `/v1/members/${m.id}/earn`, {
        body: { amount: 5, pendingUntil: '2099-01-01T00:00:00Z', reference: { type: 'order', id: 'o-1' }, description: 'late', metadata: { a: 1 } },
      });
      expect(r.status).toBe(201);
      // Ids, instants and the API key's id (each app has its own key) differ; nothing else may.
      const normalise = (value: unknown): unknown => (typeof value === 'string' && /^[0-9a-f-]{36}$|^\d{4}-\d\d-\d\dT|^api_key:/.test(value) ? '…' : value);
      return JSON.parse(JSON.stringify(r.body, (key, value) => (key === 'id' || key.endsWith('Id') ? '…' : normalise(value))));
    };
    expect(await shape(t)).toEqual(await shape(alone));
  });
});
