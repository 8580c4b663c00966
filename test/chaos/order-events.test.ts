import { describe, expect, it } from 'vitest';
import { setupTestApp, type TestProgram } from '../helpers.ts';
import { check, newSummary, publishSummary } from './harness.ts';
import { ORDERS } from './world.ts';

/** Order events sent in order once, and shuffled with duplicates (concurrently): the same orders, points and ledger. */
describe.runIf(ORDERS)('duplicate and out-of-order order events', async () => {
  const t = await setupTestApp();

  // Named by customer id, every event takes the single path; named by member id, an order's first
  // event and the payment of a created order are group-committed (docs/architecture.md), and the
  // copies sent eight at a time share batches.
  it.each(['customerId', 'memberId'] as const)('converge to the in-order result (the customer named by %s)', async (named) => {
    const inOrder = await t.newProgram();
    const shuffled = await t.newProgram();
    const summary = newSummary(`order events: duplicates, out of order (customer by ${named})`);
    for (const p of [inOrder, shuffled]) {
      const rule = await t.call('POST', '/v1/rules', { key: p.key, body: { kind: 'base_rate', name: '1 point per $1', config: { points: 1, perAmountMinor: 100 } } });
      expect(rule.status).toBe(201);
    }
    // One customer per order, so that copies of different orders sent together can share a batch.
    const customers = Array.from({ length: 10 }, (_, i) => `conv-${i}`);
    const memberIds = new Map<TestProgram, string[]>();
    for (const p of [inOrder, shuffled]) {
      const ids = [];
      for (const c of customers) ids.push((await t.member({ customerId: c }, p)).id);
      // A first earn makes the member's wallet, which a grouped earn needs.
      for (const id of ids) await t.earn(id, 1, {}, p);
      memberIds.set(p, ids);
    }

    const ordersOf = (p: TestProgram) => Array.from({ length: 10 }, (_, i) => {
      const customer = named === 'customerId' ? { customerId: customers[i % customers.length] } : { memberId: memberIds.get(p)![i % customers.length] };
      const details = {
        currency: 'USD', customer,
        lines: [{ id: 'a', quantity: 2, unitPriceMinor: 1250 + i * 100 }, { id: 'b', quantity: 1, unitPriceMinor: 4999 }],
      };
      const base = Date.parse('2026-01-10T10:00:00Z') + i * 3_600_000;
      const event = (eventId: string, type: string, minutes: number, extra: Record<string, unknown> = {}) => ({
        orderId: `conv-order-${i}`, eventId, type, occurredAt: new Date(base + minutes * 60_000).toISOString(), ...extra,
      });
      const events = [event('c', 'created', 0, { order: details }), event('p', 'paid', 1, { order: details })];
      if (i % 3 !== 0) events.push(event('f', 'fulfilled', 60));
      if (i % 2 === 0) events.push(event('r1', 'refunded', 120, { refund: { lines: [{ lineId: 'a', quantity: 1 }] } }));
      if (i % 4 === 0) events.push(event('r2', 'refunded', 180, { refund: { full: true } }));
      if (i === 5) events.push(event('x', 'cancelled', 30));
      return events;
    });

    const send = async (p: TestProgram, body: unknown) => {
      summary.requestsSent++;
      const res = await t.call('POST', '/v1/orders/events', { key: p.key, body, idempotencyKey: false });
      check(summary, res.status === 200 || res.status === 201, `order event answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
      if (res.status < 300) summary.acknowledged++;
      return res;
    };
    const orders = ordersOf(inOrder);
    for (const events of orders) for (const e of events) await send(inOrder, e);

    // Every event one to three times, in a random order, eight at a time.
    const copies = ordersOf(shuffled).flat().flatMap((e) => Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => e));
    for (let i = copies.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [copies[i], copies[j]] = [copies[j]!, copies[i]!];
    }
    for (let i = 0; i < copies.length; i += 8) await Promise.all(copies.slice(i, i + 8).map((e) => send(shuffled, e)));

    const view = async (p: TestProgram, orderId: string) => {
      const res = await t.call('GET', `/v1/orders/lookup?orderId=${orderId}`, { key: p.key });
      const o = res.body;
      return { status: o.status, held: o.points.held, expected: o.points.expected, refundedMinor: o.refundedMinor, merchandiseMinor: o.merchandiseMinor, earns: o.points.operations.map((op: any) => [op.amount, op.reversed]) };
    };
    for (const events of orders) {
      const orderId = events[0]!.orderId;
      const [a, b] = [await view(inOrder, orderId), await view(shuffled, orderId)];
      summary.effectsChecked++;
      check(summary, JSON.stringify(a) === JSON.stringify(b), `order ${orderId} differs:\n in order: ${JSON.stringify(a)}\n shuffled: ${JSON.stringify(b)}`);
    }
    for (const c of customers) {
      const balance = async (p: TestProgram) => {
        const m = await t.call('GET', `/v1/members/lookup?customerId=${c}`, { key: p.key });
        const b = await t.call('GET', `/v1/members/${m.body.id}/balances/points`, { key: p.key });
        return { available: b.body.available, pending: b.body.pending, earned: b.body.lifetime.earned, reversed: b.body.lifetime.reversed };
      };
      const [a, b] = [await balance(inOrder), await balance(shuffled)];
      summary.effectsChecked++;
      check(summary, JSON.stringify(a) === JSON.stringify(b), `member ${c} differs: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
    for (const p of [inOrder, shuffled]) {
      const verify = await t.call('GET', '/v1/ledger/verify', { key: p.key });
      check(summary, verify.body.ok === true, `ledger verify failed: ${JSON.stringify(verify.body.checks?.filter((x: any) => !x.ok))}`);
    }
    summary.notes.push(`${orders.flat().length} events in order; ${copies.length} shuffled copies with duplicates`);
    publishSummary(summary);
    expect(summary.failures).toEqual([]);
  });
});
