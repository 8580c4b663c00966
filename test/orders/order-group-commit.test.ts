import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SINGLE } from '../../src/idempotency/run-idempotent.ts';
import { ingestOrderEventsMany, type OrderEventInput } from '../../src/orders/order-operations.ts';
import { DAY, failMarkedBatches, setupTestApp, statementCounter, TestClock, type TestContext } from '../helpers.ts';
import { balance, createRule, expectLedgerOk, orderBody, sendEvent } from './order-helpers.ts';
import { activity, ladder, putLadder, tierOf } from '../tiers/tier-kit.ts';

/**
 * Group commit of order events (docs/architecture.md, "Group commit"): new orders sent at the same
 * time share transactions, and every request keeps what it has alone — its answer, its refusal,
 * exactly one effect per event. Each scenario runs on two apps, one grouping and one not
 * (LAUREL_GROUP_COMMIT_BATCHES=0), and their results must be the same.
 */
const START = new Date('2031-05-06T15:00:00Z');

describe('order events under group commit', async () => {
  const setup = async (groupCommitBatches?: number) => {
    const clock = new TestClock(START);
    const t = await setupTestApp({
      clock, ...(groupCommitBatches === undefined ? {} : { config: { groupCommitBatches } }),
      program: { wallets: [{ code: 'points', name: 'Points', pendingDays: 14 }, { code: 'cashback', name: 'Cashback', unit: 'currency' }] },
    });
    await createRule(t, 'base_rate', { points: 1, perAmountMinor: 100 });
    await createRule(t, 'extra_points', { points: 500, per: 'order', conditions: { orderNumber: { equals: 1 } } });
    await createRule(t, 'multiplier', { percent: 200, lines: { tags: ['club'] } });
    await createRule(t, 'cashback', { rateBasisPoints: 300 });
    expect((await t.call('POST', '/v1/stores', { body: { code: 'web', name: 'Web shop', kind: 'online', currency: 'USD' } })).status).toBe(201);
    clock.advance(60_000);
    return { t, clock };
  };
  const grouped = await setup();
  const alone = await setup(0);
  const statements = statementCounter(grouped.t.db.pool);
  /**
   * Starts counting the grouped server's statements, its API key cached first (for 5 s): a burst
   * that found it expired would count a key lookup per request.
   */
  const countFromHere = async (t: TestContext) => {
    expect((await t.call('GET', '/v1/rules')).status).toBe(200);
    statements.count = 0;
  };

  const lines = (i: number) => [
    { id: 'l1', sku: 'A', quantity: 1 + (i % 3), unitPriceMinor: 1999, tags: i % 2 ? ['club'] : [] },
    { id: 'l2', sku: 'B', quantity: 1, unitPriceMinor: 4500 },
  ];
  /** Members whose wallets exist (an earn made them), as the group's earns need. */
  const members = async (t: TestContext, n: number) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const m = await t.member();
      await t.earn(m.id, 1);
      await t.earn(m.id, 1, { wallet: 'cashback' });
      out.push(m);
    }
    return out;
  };
  const paid = (orderId: string, memberId: string, i: number, at: Date) => ({
    orderId, eventId: 'paid', type: 'paid', occurredAt: at.toISOString(), order: orderBody(lines(i), { customer: { memberId } }),
  });
  /** Ids, instants and the API keys' ids differ between the apps; nothing else may. */
  const normalise = (body: unknown) => JSON.parse(JSON.stringify(body, (key, value) => {
    if (key === 'id' || key.endsWith('Id') && key !== 'orderId') return '…';
    if (typeof value !== 'string') return value;
    return /^\d{4}-\d\d-\d\dT|^api_key:/.test(value) ? '…' : value.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '…');
  }));
  const transactionsOf = async (t: TestContext, orderIds: string[]) => {
    const { rows } = await sql<{ n: number }>`select count(distinct xmin::text)::int as n from orders where program_id = ${t.program.id} and external_id = any(${orderIds})`.execute(t.db.db);
    return rows[0]!.n;
  };
  /** What an app's ledger and records hold for these members, without ids. */
  const holdings = async (t: TestContext, memberIds: string[]) => {
    const q = async (query: ReturnType<typeof sql>) => (await query.execute(t.db.db)).rows;
    const index = (id: string) => memberIds.indexOf(id);
    return {
      balances: await Promise.all(memberIds.map(async (id) => (await t.call('GET', `/v1/members/${id}/balances`)).body)).then(normalise),
      entries: (await q(sql`select member_id, kind, amount, lot_delta from entries where program_id = ${t.program.id} and member_id = any(${memberIds}::uuid[]) order by amount, kind`))
        .map((r: any) => ({ ...r, member_id: index(r.member_id) })).sort((a: any, b: any) => a.member_id - b.member_id || a.amount - b.amount || a.kind.localeCompare(b.kind)),
      awards: (await q(sql`select a.member_id, a.component like 'order:%:points:paid:14' as points_component, a.breakdown, o.amount from awards a join operations o on o.id = a.operation_id where a.program_id = ${t.program.id} and a.member_id = any(${memberIds}::uuid[])`))
        .map((r: any) => ({ ...r, breakdown: normalise(r.breakdown), member_id: index(r.member_id) })).sort((a: any, b: any) => a.member_id - b.member_id || a.amount - b.amount),
      rulePoints: (await q(sql`select r.member_id, v.name, r.points from rule_points r join earning_rule_versions v on v.rule_id = r.rule_id where r.program_id = ${t.program.id} and r.member_id = any(${memberIds}::uuid[])`))
        .map((r: any) => ({ ...r, member_id: index(r.member_id) })).sort((a: any, b: any) => a.member_id - b.member_id || a.name.localeCompare(b.name) || a.points - b.points),
      tierActivity: (await q(sql`select member_id, metric, amount from tier_metric_events where program_id = ${t.program.id} and member_id = any(${memberIds}::uuid[]) and source_type = 'order'`))
        .map((r: any) => ({ ...r, member_id: index(r.member_id) })).sort((a: any, b: any) => a.member_id - b.member_id || a.metric.localeCompare(b.metric) || a.amount - b.amount),
      events: (await q(sql`select type, count(*)::int as n from events where program_id = ${t.program.id} and member_id = any(${memberIds}::uuid[]) group by type order by type`)),
    };
  };

  interface Burst { ms: { id: string }[]; ids: string[]; results: { body: any }[]; used: number }
  /**
   * The same burst of `n` events on both servers: the grouped one wrote its orders in fewer
   * transactions than events (rows written by one share its xmin), each of `perBatch` statements
   * (fewest, most); the other one transaction each; the answers and the holdings alike.
   */
  const expectSharedAlike = async (g: Burst, a: Burst, n: number, perBatch: [number, number]) => {
    const shared = await transactionsOf(grouped.t, g.ids);
    expect(shared).toBeLessThan(n);
    expect(await transactionsOf(alone.t, a.ids)).toBe(n);
    expect(g.used).toBeGreaterThanOrEqual(perBatch[0] * shared);
    expect(g.used).toBeLessThanOrEqual(perBatch[1] * shared);
    expect(g.results.map((r) => normalise(r.body))).toEqual(a.results.map((r) => normalise(r.body)));
    expect(await holdings(grouped.t, g.ms.map((m) => m.id))).toEqual(await holdings(alone.t, a.ms.map((m) => m.id)));
  };

  it('new orders sent at once share transactions; answers, ledger and records are those of each order alone', async () => {
    const n = 24;
    const scenario = async ({ t, clock }: { t: TestContext; clock: TestClock }, countStatements: boolean) => {
      const ms = await members(t, n);
      // Half of the members ordered before: their new order is their second (no welcome bonus).
      for (let i = 0; i < n; i += 2) expect((await sendEvent(t, paid(`before-${i}`, ms[i]!.id, i, clock.current!))).status).toBe(201);
      clock.advance(60_000);
      if (countStatements) await countFromHere(t);
      const ids = ms.map((_, i) => `burst-${i}`);
      // A third of them from a store (its orders are numbered per store, its kind is their channel).
      const results = await Promise.all(ms.map((m, i) => sendEvent(t, { ...paid(ids[i]!, m.id, i, new Date(clock.current!.getTime() + i)), ...(i % 3 === 1 ? { store: 'web' } : {}) })));
      const used = statements.count;
      expect(results.map((r) => r.status)).toEqual(ms.map(() => 201));
      return { ms, ids, results, used };
    };
    const g = await scenario(grouped, true);
    const a = await scenario(alone, false);
    // 8 statements a batch whatever its size, 9 when its events name stores (against 14 for an
    // order alone).
    await expectSharedAlike(g, a, n, [8, 9]);
    // The welcome bonus went to the members without an earlier order, numbered right.
    expect(g.results.map((r) => r.body.order.points.orderNumber)).toEqual(g.ms.map((_, i) => (i % 2 === 0 ? 2 : 1)));
    // A resend of each is a duplicate, on either app.
    const again = await Promise.all(g.ms.map((m, i) => sendEvent(grouped.t, { ...paid(g.ids[i]!, m.id, i, new Date(grouped.clock.current!.getTime() + i)), ...(i % 3 === 1 ? { store: 'web' } : {}) })));
    expect(again.map((r) => r.status)).toEqual(g.ms.map(() => 200));
    expect(again.map((r) => normalise(r.body.order))).toEqual(g.results.map((r) => normalise(r.body.order)));
    await expectLedgerOk(grouped.t);
    await expectLedgerOk(alone.t);
  });

  it('orders created before, then paid, then fulfilled at once share transactions as new orders do; answers, ledger and records are those of each order alone', async () => {
    const n = 16;
    const scenario = async ({ t, clock }: { t: TestContext; clock: TestClock }, countStatements: boolean) => {
      const ms = await members(t, n);
      const ids = ms.map((_, i) => `life-${i}`);
      // A quarter from a store; every order is created first (awaiting payment), one by one.
      const store = (i: number) => (i % 4 === 1 ? { store: 'web' } : {});
      for (const [i, m] of ms.entries()) {
        const created = await sendEvent(t, { ...paid(ids[i]!, m.id, i, new Date(clock.current!.getTime() + i)), eventId: 'created', type: 'created', ...store(i) });
        expect(created.status).toBe(201);
        expect(created.body.order.points.awaiting).toBe('payment');
      }
      clock.advance(3_600_000);
      if (countStatements) await countFromHere(t);
      // The same description, now paid: the order's first settlement.
      const results = await Promise.all(ms.map((m, i) => sendEvent(t, {
        ...paid(ids[i]!, m.id, i, new Date(clock.current!.getTime() + i)), order: orderBody(lines(i), { customer: { memberId: m.id } }), ...store(i),
      })));
      const used = statements.count;
      expect(results.map((r) => r.status)).toEqual(ms.map(() => 201));
      return { ms, ids, results, used };
    };
    const g = await scenario(grouped, true);
    const a = await scenario(alone, false);
    // 10 statements a batch, 11 when its events name stores (the new orders' 8, plus locking the
    // orders and recording their events), against 21 for each such event alone.
    await expectSharedAlike(g, a, n, [10, 11]);
    expect(g.results.every((r) => r.body.order.status === 'paid' && r.body.order.events.length === 2 && r.body.order.points.held.points > 0)).toBe(true);
    // Paid again: a duplicate, answered alike on either app. Then fulfilled.
    const resend = async ({ t, clock }: { t: TestContext; clock: TestClock }, ms: { id: string }[], ids: string[]) => Promise.all(ms.map((m, i) =>
      sendEvent(t, { ...paid(ids[i]!, m.id, i, new Date(clock.current!.getTime() + i)), ...(i % 4 === 1 ? { store: 'web' } : {}) })));
    await countFromHere(grouped.t);
    const gr = await resend(grouped, g.ms, g.ids);
    // Answered by batches (7 or 8 statements each, nothing written), not one by one (10 each).
    expect(statements.count).toBeLessThan(5 * n);
    expect(gr.map((r) => r.status)).toEqual(g.ms.map(() => 200));
    expect(gr.map((r) => normalise(r.body))).toEqual((await resend(alone, a.ms, a.ids)).map((r) => normalise(r.body)));
    const fulfil = async ({ t, clock }: { t: TestContext; clock: TestClock }, ms: { id: string }[], ids: string[]) => Promise.all(ms.map((m, i) => sendEvent(t, {
      ...paid(ids[i]!, m.id, i, new Date(clock.current!.getTime() + 60_000 + i)), eventId: 'fulfilled', type: 'fulfilled', ...(i % 4 === 1 ? { store: 'web' } : {}),
    })));
    await countFromHere(grouped.t);
    const gf = await fulfil(grouped, g.ms, g.ids);
    const fulfilled = { ...g, results: gf, used: statements.count };
    const af = await fulfil(alone, a.ms, a.ids);
    expect(gf.map((r) => r.status)).toEqual(g.ms.map(() => 201));
    // The fulfilment changes nothing in the ledger (points vest from payment): grouped too, in 9
    // statements a batch (10 with stores): no earn, one more to read the orders' awards.
    await expectSharedAlike(fulfilled, { ...a, results: af, used: 0 }, n, [9, 10]);
    await expectLedgerOk(grouped.t);
    await expectLedgerOk(alone.t);
  });

  it('a batch hands back what it cannot take, and each of those gets its answer alone', async () => {
    const scenario = async ({ t, clock }: { t: TestContext; clock: TestClock }) => {
      const ready = await members(t, 3);
      const fresh = await t.member(); // no wallet yet: the earn that creates it runs alone
      const blocked = (await members(t, 1))[0]!;
      expect((await t.call('PATCH', `/v1/members/${blocked.id}`, { body: { status: 'blocked' } })).status).toBe(200);
      const existing = 'exists-1';
      expect((await sendEvent(t, { orderId: existing, eventId: 'created', type: 'created', occurredAt: clock.current!.toISOString(), order: orderBody(lines(0), { customer: { memberId: ready[2]!.id } }) })).status).toBe(201);
      clock.advance(60_000);
      const at = clock.current!;
      const bodies = [
        paid('mix-0', ready[0]!.id, 0, at),
        paid('mix-0', ready[0]!.id, 0, at), // the same event twice in one burst: one effect
        paid('mix-1', ready[2]!.id, 1, at), // the same member twice in one burst (with the existing order's paid event)
        paid('mix-2', fresh.id, 2, at),
        paid('mix-3', blocked.id, 3, at),
        paid('mix-4', '00000000-0000-4000-8000-000000000000', 4, at),
        { ...paid('mix-5', ready[1]!.id, 5, at), order: orderBody(lines(5), { customer: { memberId: ready[1]!.id }, currency: 'EUR' }) },
        { ...paid(existing, ready[2]!.id, 0, at) },
        { ...paid('mix-6', ready[1]!.id, 6, at), store: 'nowhere' },
      ];
      const results = await Promise.all(bodies.map((b) => sendEvent(t, b)));
      const orders = await t.db.db.selectFrom('orders').select(['external_id']).where('program_id', '=', t.program.id).where('external_id', 'like', 'mix-%').orderBy('external_id').execute();
      const events = await t.db.db.selectFrom('order_events').innerJoin('orders', 'orders.id', 'order_events.order_id').select(['orders.external_id', 'order_events.event_id'])
        .where('orders.program_id', '=', t.program.id).orderBy('orders.external_id').orderBy('order_events.event_id').execute();
      return {
        statuses: results.map((r) => [r.status, r.body.code ?? r.body.duplicate]),
        bodies: results.filter((r) => r.status === 201).map((r) => normalise(r.body)).sort((x, y) => x.order.orderId.localeCompare(y.order.orderId)),
        orders, events: events.filter((e) => e.external_id.startsWith('mix-') || e.external_id === existing),
        holdings: await holdings(t, [...ready, fresh, blocked].map((m) => m.id)),
      };
    };
    const g = await scenario(grouped);
    const a = await scenario(alone);
    // The two sends of mix-0 race: one is 201, the other 200 a duplicate, in either order.
    const sortFirstTwo = (s: unknown[][]) => [...s.slice(0, 2).sort((x, y) => Number(x[0]) - Number(y[0])), ...s.slice(2)];
    expect(sortFirstTwo(g.statuses)).toEqual([[200, true], [201, false], [201, false], [201, false], [201, false], [404, 'member_not_found'], [422, 'currency_mismatch'], [201, false], [422, 'unknown_store']]);
    expect(sortFirstTwo(g.statuses)).toEqual(sortFirstTwo(a.statuses));
    expect(g.bodies).toEqual(a.bodies);
    // Nothing of a refused event, and one row per order and event, whatever path each took.
    expect(g.orders.map((o) => o.external_id)).toEqual(['mix-0', 'mix-1', 'mix-2', 'mix-3']);
    expect(g.events).toEqual(a.events);
    expect(g.holdings).toEqual(a.holdings);
    await expectLedgerOk(grouped.t);
  });

  it('with a tier ladder, each member is qualified as alone: promotions, entry rewards and multipliers the same', async () => {
    const scenario = async (groupCommitBatches?: number) => {
      const { t, clock } = await setup(groupCommitBatches);
      await putLadder(t, ladder());
      const ms = await members(t, 12);
      // A third of the members are VIB already (their multiplier applies); a third are $50 short
      // of it (this order promotes them, with the entry reward); the rest start from nothing.
      for (const [i, m] of ms.entries()) if (i % 3 < 2) await activity(t, m.id, { net_spend: i % 3 === 0 ? 40_000 : 30_000 });
      clock.advance(60_000);
      if (groupCommitBatches === undefined) await countFromHere(t);
      const ids = ms.map((_, i) => `tiered-${i}`);
      const results = await Promise.all(ms.map((m, i) => sendEvent(t, paid(ids[i]!, m.id, i, new Date(clock.current!.getTime() + i)))));
      expect(results.map((r) => r.status)).toEqual(ms.map(() => 201));
      return {
        t, ids,
        bodies: results.map((r) => normalise(r.body)),
        tiers: await Promise.all(ms.map((m) => tierOf(t, m.id))),
        holdings: await holdings(t, ms.map((m) => m.id)),
      };
    };
    const g = await scenario();
    const a = await scenario(0);
    expect(await transactionsOf(g.t, g.ids)).toBeLessThan(g.ids.length);
    expect(g.tiers).toEqual(['vib', 'vib', 'insider', 'vib', 'vib', 'insider', 'vib', 'vib', 'insider', 'vib', 'vib', 'insider']);
    expect(g.tiers).toEqual(a.tiers);
    expect(g.bodies).toEqual(a.bodies);
    expect(g.holdings).toEqual(a.holdings);
    // Four promoted by the activity before, four by these orders, each with its entry reward:
    // 8 tier changes, and 24 + 24 + 8 earns (wallet set-up, the orders' points and cashback, rewards).
    expect(g.holdings.events).toContainEqual({ type: 'tier.changed', n: 8 });
    expect(g.holdings.events).toContainEqual({ type: 'points.earned', n: 56 });
    await expectLedgerOk(g.t);
  });

  it('a batch whose transaction fails sends each of its events on alone', async () => {
    // A failure only a shared transaction meets (see failMarkedBatches).
    const marked = await failMarkedBatches(grouped.t.db.db, { table: 'orders', column: 'external_id', marker: 'fail-my-batch' });
    try {
      const { t, clock } = grouped;
      const ms = await members(t, 20);
      const ids = ms.map((_, i) => (i === 19 ? 'fail-my-batch' : `failing-${i}`));
      const results = await Promise.all(ms.map((m, i) => sendEvent(t, paid(ids[i]!, m.id, i, clock.current!))));
      expect(results.map((r) => r.status)).toEqual(ms.map(() => 201));
      expect(await marked.refused()).toBeGreaterThan(0);
      const orders = await t.db.db.selectFrom('orders').select(['external_id', 'status']).where('program_id', '=', t.program.id).where('external_id', 'in', ids).execute();
      expect(orders).toHaveLength(20);
      expect(orders.every((o) => o.status === 'paid')).toBe(true);
      await expectLedgerOk(t);
    } finally {
      await marked.drop();
    }
  });
});

/**
 * What a batch hands back, decided without any timing: ingestOrderEventsMany called directly in
 * one transaction, as a group commit calls it.
 */
describe('ingestOrderEventsMany, called directly', async () => {
  const clock = new TestClock(START);
  const t = await setupTestApp({ clock });
  const rule = await createRule(t, 'base_rate', { points: 1, perAmountMinor: 100 });
  clock.advance(60_000);
  const batch = (inputs: OrderEventInput[]) => t.db.db.transaction().execute(async (trx) =>
    ingestOrderEventsMany({ trx, programId: t.program.id, actor: 'test', clock: clock.now }, inputs.map((input, index) => ({ index, actor: 'test', input }))));
  const ready = async () => {
    const m = await t.member();
    await t.earn(m.id, 1);
    return m;
  };
  const event = (orderId: string, memberId: string, placedAt: Date, currency = 'USD'): OrderEventInput => ({
    orderId, eventId: 'paid', type: 'paid', occurredAt: placedAt.toISOString(),
    order: { currency, customer: { memberId }, lines: [{ id: 'l1', quantity: 1, unitPriceMinor: 2500 }] },
  });
  const stored = async (prefix: string) => ({
    orders: (await t.db.db.selectFrom('orders').select('external_id').where('program_id', '=', t.program.id).where('external_id', 'like', `${prefix}%`).orderBy('external_id').execute()).map((o) => o.external_id),
    events: Number((await t.db.db.selectFrom('order_events').innerJoin('orders', 'orders.id', 'order_events.order_id').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('orders.program_id', '=', t.program.id).where('orders.external_id', 'like', `${prefix}%`).executeTakeFirstOrThrow()).n),
  });

  it('answers what it writes, hands back the rest, and leaves nothing of an order it created and handed back', async () => {
    const [a, b, c] = [await ready(), await ready(), await ready()];
    const fresh = await t.member(); // no wallet yet: its earn must run alone
    const at = clock.current!;
    const answers = await batch([
      event('hb-1', a.id, at),
      event('hb-2', fresh.id, at),
      event('hb-3', a.id, at), // the same member again
      event('hb-1', b.id, at), // the same order again
      event('hb-4', c.id, at, 'EUR'),
    ]);
    expect(answers.get(0)).toMatchObject({ duplicate: false, order: { orderId: 'hb-1', status: 'paid', points: { held: { points: 25 } } } });
    expect([1, 2, 3].map((i) => answers.get(i))).toEqual([SINGLE, SINGLE, SINGLE]);
    expect(answers.get(4)).toMatchObject({ code: 'currency_mismatch' });
    // hb-2 was created, then deleted when its earn turned out to need the single path.
    expect(await stored('hb-')).toEqual({ orders: ['hb-1'], events: 1 });
  });

  it('takes an order\'s payment, a paid order\'s fulfilment and resends; hands back one whose ledger would change, one whose details changed, one not linked, one cancelled, one of another member, and keeps none of their events', async () => {
    const [a, b, c, d, e, f, g, h] = [await ready(), await ready(), await ready(), await ready(), await ready(), await ready(), await ready(), await ready()];
    const at = clock.current!;
    const create = async (orderId: string, order: OrderEventInput['order']) => {
      expect((await sendEvent(t, { orderId, eventId: 'created', type: 'created', occurredAt: at.toISOString(), order })).status).toBe(201);
    };
    await create('ex-1', event('ex-1', a.id, at).order);
    await create('ex-2', event('ex-2', b.id, at).order);
    expect((await sendEvent(t, { ...event('ex-2', b.id, at) })).status).toBe(201); // paid: settled before
    await create('ex-3', event('ex-3', c.id, at).order);
    await create('ex-4', { currency: 'USD', customer: { email: 'ex4@example.com' }, lines: [{ id: 'l1', quantity: 1, unitPriceMinor: 2500 }] });
    await create('ex-5', event('ex-5', e.id, at).order);
    const paid5 = await sendEvent(t, { ...event('ex-5', e.id, at) });
    // Its points taken back by hand: a later event of the order earns them again (single path).
    expect((await t.call('POST', `/v1/operations/${paid5.body.order.points.operations[0].operationId}/reverse`, { body: {} })).status).toBe(201);
    await create('ex-6', event('ex-6', f.id, at).order);
    expect((await sendEvent(t, { orderId: 'ex-6', eventId: 'cancelled', type: 'cancelled', occurredAt: at.toISOString() })).status).toBe(201);
    await create('ex-7', event('ex-7', g.id, at).order);
    const later = new Date(at.getTime() + 60_000);
    const fulfilled = (orderId: string, memberId: string) => ({ ...event(orderId, memberId, later), eventId: 'fulfilled', type: 'fulfilled' as const });
    const otherLines = { ...event('ex-3', c.id, later), order: { currency: 'USD', customer: { memberId: c.id }, lines: [{ id: 'l1', quantity: 2, unitPriceMinor: 2500 }] } };
    const answers = await batch([
      event('ex-1', a.id, later), fulfilled('ex-2', b.id), otherLines, event('ex-4', d.id, later), fulfilled('ex-5', e.id),
      event('ex-6', f.id, later), event('ex-7', h.id, later), // cancelled; another member than the order's
    ]);
    expect(answers.get(0)).toMatchObject({ duplicate: false, order: { orderId: 'ex-1', status: 'paid', points: { held: { points: 25 }, orderNumber: 1 } } });
    expect((answers.get(0) as { order: { events: unknown[] } }).order.events).toHaveLength(2);
    // Fulfilled after payment: points vest from payment, so only the order's status changes.
    expect(answers.get(1)).toMatchObject({ duplicate: false, order: { orderId: 'ex-2', status: 'fulfilled', points: { held: { points: 25 } } } });
    expect((answers.get(1) as { order: { points: { operations: unknown[] } } }).order.points.operations).toHaveLength(1);
    expect([2, 3, 4, 5, 6].map((i) => answers.get(i))).toEqual([SINGLE, SINGLE, SINGLE, SINGLE, SINGLE]);
    // Each handed-back event was recorded, then taken back: only the orders' earlier events remain.
    expect(await stored('ex-')).toEqual({ orders: ['ex-1', 'ex-2', 'ex-3', 'ex-4', 'ex-5', 'ex-6', 'ex-7'], events: 2 + 3 + 1 + 1 + 2 + 2 + 1 });
    // Alone, the single path answers those two: the cancelled order paid after all (no points), the
    // other member refused.
    expect((await sendEvent(t, { ...event('ex-6', f.id, later) })).body.order).toMatchObject({ status: 'cancelled', points: { held: {} } });
    expect((await sendEvent(t, { ...event('ex-7', h.id, later) })).body).toMatchObject({ code: 'invalid_order' });
    // The same payment again: a resend, answered as the single path answers it (the order as it
    // is, nothing written); the same event id with other content: refused, nothing written.
    const viewAlone = (await t.call('GET', '/v1/orders/lookup?orderId=ex-1')).body;
    const again = await batch([event('ex-1', a.id, later), { ...event('ex-2', b.id, later), eventId: 'fulfilled', type: 'fulfilled', occurredAt: at.toISOString() }]);
    expect(again.get(0)).toEqual({ duplicate: true, order: viewAlone });
    expect(again.get(1)).toMatchObject({ code: 'order_event_conflict' });
    expect(await stored('ex-')).toEqual({ orders: ['ex-1', 'ex-2', 'ex-3', 'ex-4', 'ex-5', 'ex-6', 'ex-7'], events: 2 + 3 + 1 + 1 + 2 + 3 + 1 });
    expect((await balance(t, a.id)).available).toBe(1 + 25);
    expect((await balance(t, b.id)).available).toBe(1 + 25);
  });

  it('hands everything back when a rule version takes effect between the orders\' times', async () => {
    const [a, b] = [await ready(), await ready()];
    const change = new Date(clock.current!.getTime() + DAY);
    const put = await t.call('PUT', `/v1/rules/${rule.id}`, { body: { name: 'Base ×2', effectiveFrom: change.toISOString(), config: { points: 2, perAmountMinor: 100 } }, idempotencyKey: randomUUID() });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const before = new Date(change.getTime() - 3_600_000);
    const after = new Date(change.getTime() + 3_600_000);
    const across = await batch([event('span-1', a.id, before), event('span-2', b.id, after)]);
    expect([...across.values()]).toEqual([SINGLE, SINGLE]);
    expect(await stored('span-')).toEqual({ orders: [], events: 0 });
    // Both on one side of the change: one set of rules, the batch takes them, each earning by it.
    const later = await batch([event('span-3', a.id, after), event('span-4', b.id, new Date(after.getTime() + 60_000))]);
    expect([...later.values()].map((x) => (x as { order: { points: { held: unknown } } }).order.points.held)).toEqual([{ points: 50 }, { points: 50 }]);
  });

  it('hands everything back when a rule needs more than the order and the member (a per-member cap, a challenge)', async () => {
    const m = await ready();
    const capped = await createRule(t, 'extra_points', { points: 10, per: 'order', caps: { perMember: { points: 20, period: 'month' } } });
    clock.advance(60_000);
    expect([...(await batch([event('cap-1', m.id, clock.current!)])).values()]).toEqual([SINGLE]);
    expect((await t.call('PUT', `/v1/rules/${capped.id}`, { body: { name: 'off', enabled: false, config: { points: 10, per: 'order' } }, idempotencyKey: randomUUID() })).status).toBe(200);
    await createRule(t, 'challenge', { target: 3, period: 'month', points: 100, counts: { type: 'orders', minOrderMinor: 500 } });
    clock.advance(60_000);
    expect([...(await batch([event('cap-2', m.id, clock.current!)])).values()]).toEqual([SINGLE]);
    expect(await stored('cap-')).toEqual({ orders: [], events: 0 });
  });
});
