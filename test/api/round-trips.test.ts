import { describe, expect, it } from 'vitest';
import { setupTestApp, statementCounter } from '../helpers.ts';

/**
 * Round trips are what a request costs (docs/benchmarks.md): these are designed properties of
 * the hot paths, counted, not timed. A change that adds statements to them shows here.
 */
describe('statements per request on the hot paths', async () => {
  const t = await setupTestApp();
  const statements = statementCounter(t.db.pool);
  const count = async (send: () => Promise<{ status: number }>, status: number) => {
    statements.count = 0;
    expect((await send()).status).toBe(status);
    return statements.count;
  };
  const member = await t.member();
  await t.earn(member.id, 10);

  it('a balance read with nothing due is one statement, with no transaction', async () => {
    expect(await count(() => t.call('GET', `/v1/members/${member.id}/balances/points`), 200)).toBe(1);
    expect(await count(() => t.call('GET', `/v1/members/${member.id}/balances`), 200)).toBe(1);
  });

  it('an earn into a wallet that owes nothing is at most 4 statements, begin and commit included (the program read and the wallet locked with the key’s claim, the answer stored with the commit)', async () => {
    expect(await count(() => t.call('POST', `/v1/members/${member.id}/earn`, { body: { amount: 5 } }), 201)).toBeLessThanOrEqual(4);
  });

  it('a replayed earn is only the key claim (lock and read in one statement) and commit', async () => {
    const key = 'replay-round-trips';
    await t.call('POST', `/v1/members/${member.id}/earn`, { body: { amount: 5 }, idempotencyKey: key });
    expect(await count(() => t.call('POST', `/v1/members/${member.id}/earn`, { body: { amount: 5 }, idempotencyKey: key }), 201)).toBeLessThanOrEqual(3);
  });

  it('an order paid that creates its order and earns through one rule is at most 14 statements, a later event of it 17; an action at most 15', async () => {
    const buyer = await t.member();
    await t.earn(buyer.id, 1);
    expect((await t.call('POST', '/v1/rules', { body: { kind: 'base_rate', name: 'Base', config: { points: 1, perAmountMinor: 100 } } })).status).toBe(201);
    expect((await t.call('POST', '/v1/rules', { body: { kind: 'action', name: 'Visit', config: { action: 'visit', points: 5 } } })).status).toBe(201);
    const order = (n: number) => ({
      orderId: `rt-new-${buyer.id}-${n}`, eventId: 'paid', type: 'paid', occurredAt: new Date(Date.UTC(2030, 0, 1, 0, n)).toISOString(),
      order: { currency: 'USD', customer: { memberId: buyer.id }, lines: [{ id: 'l', quantity: 2, unitPriceMinor: 1000 }] },
    });
    // The first of each warms what a running server has warm (program accounts, prepared statements).
    await t.call('POST', '/v1/orders/events', { body: order(0) });
    const paid = await t.call('POST', '/v1/orders/events', { body: order(1) });
    expect(paid.body.order.points.held).toEqual({ points: 20 });
    expect(await count(() => t.call('POST', '/v1/orders/events', { body: order(2) }), 201)).toBeLessThanOrEqual(14);
    // A later event of that order, with its details: the member it names is locked once.
    await t.call('POST', '/v1/orders/events', { body: { ...order(1), eventId: 'fulfilled', type: 'fulfilled' } });
    expect(await count(() => t.call('POST', '/v1/orders/events', { body: { ...order(2), eventId: 'fulfilled', type: 'fulfilled' } }), 201)).toBeLessThanOrEqual(17);
    await t.call('POST', `/v1/members/${buyer.id}/actions`, { body: { type: 'visit' } });
    expect(await count(() => t.call('POST', `/v1/members/${buyer.id}/actions`, { body: { type: 'visit' } }), 201)).toBeLessThanOrEqual(15);
  });

  it('a page of a member’s orders or actions costs the same statements whatever its size (no query per row)', async () => {
    const buyer = await t.member();
    expect((await t.call('POST', '/v1/rules', { body: { kind: 'action', name: 'Review', config: { action: 'review', points: 5 } } })).status).toBe(201);
    for (let i = 0; i < 4; i++) {
      const res = await t.call('POST', '/v1/orders/events', {
        idempotencyKey: false,
        body: { orderId: `rt-${buyer.id}-${i}`, eventId: 'paid', type: 'paid', occurredAt: new Date(Date.UTC(2030, 0, 1, 0, i)).toISOString(), order: { currency: 'USD', customer: { memberId: buyer.id }, lines: [{ id: 'l', quantity: 1, unitPriceMinor: 1000 }] } },
      });
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
      expect((await t.call('POST', `/v1/members/${buyer.id}/actions`, { body: { type: 'review' } })).status).toBeLessThan(300);
    }
    const one = await count(() => t.call('GET', `/v1/members/${buyer.id}/orders?limit=1`), 200);
    expect(await count(() => t.call('GET', `/v1/members/${buyer.id}/orders?limit=4`), 200)).toBe(one);
    const oneAction = await count(() => t.call('GET', `/v1/members/${buyer.id}/actions?limit=1`), 200);
    expect(await count(() => t.call('GET', `/v1/members/${buyer.id}/actions?limit=4`), 200)).toBe(oneAction);
  });
});
