import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { countEarlierOrders, lockMembersCounting } from '../../src/orders/order-repository.ts';
import { connectSession, setupTestApp } from '../helpers.ts';

/**
 * An order batch locks its members and counts each new order's earlier orders in one statement
 * (lockMembersCounting, laurel_earlier_orders of migration 0015). The count must see an order
 * that another transaction, holding the member's lock, committed while the batch waited for it:
 * otherwise two concurrent orders of one member could both be its first.
 */
describe('counting a member’s earlier orders while locking the member', async () => {
  const t = await setupTestApp();
  const member = await t.member();
  await t.earn(member.id, 1);
  const send = (body: Record<string, unknown>) => t.call('POST', '/v1/orders/events', { idempotencyKey: false, body });
  const order = (orderId: string, at: string) => ({
    orderId, eventId: 'paid', type: 'paid', occurredAt: at,
    order: { currency: 'USD', customer: { memberId: member.id }, lines: [{ id: 'l', quantity: 1, unitPriceMinor: 1000 }] },
  });
  // A cancelled order placed first: it does not count until another transaction revives it.
  expect((await send(order('earlier', '2030-01-01T10:00:00Z'))).status).toBe(201);
  expect((await send({ orderId: 'earlier', eventId: 'cancel', type: 'cancelled', occurredAt: '2030-01-01T11:00:00Z' })).status).toBe(201);
  const earlierId = (await t.db.db.selectFrom('orders').select('id').where('external_id', '=', 'earlier').executeTakeFirstOrThrow()).id;
  const laterOrder = { id: randomUUID(), placedAt: new Date('2030-01-02T10:00:00Z') };

  /**
   * Another session locks the member and revives the earlier order, and commits only once `count`
   * has started and is waiting for the member's lock. What `count` saw is returned.
   */
  const whileAnotherHoldsTheMember = async (count: () => Promise<number | null>) => {
    const holder = await connectSession(t.db.url);
    try {
      await holder.query('begin');
      await holder.query(`select id from members where id = $1 for update`, [member.id]);
      await holder.query(`update orders set status = 'paid' where id = $1`, [earlierId]);
      const counted = count();
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('commit');
      return await counted;
    } finally {
      await holder.query(`update orders set status = 'cancelled' where id = $1`, [earlierId]);
      await holder.end();
    }
  };

  it('sees an order committed while it waited for the member’s lock', async () => {
    expect(await t.db.db.transaction().execute(async (trx) => countEarlierOrders(trx, member.id, laterOrder.placedAt, laterOrder.id))).toBe(0);
    const counted = await whileAnotherHoldsTheMember(() => t.db.db.transaction().execute(async (trx) => {
      const [locked] = await lockMembersCounting(trx, t.program.id, [{ memberId: member.id, order: laterOrder }]);
      expect(locked!.member.id).toBe(member.id);
      return locked!.earlierOrders;
    }));
    expect(counted).toBe(1);
  });

  it('which the same statement counting with its own snapshot would miss', async () => {
    // The control: the count as a subquery of the locking statement reads with the snapshot taken
    // before the lock was granted.
    const counted = await whileAnotherHoldsTheMember(async () => {
      const { rows } = await sql<{ earlier: number }>`
        select (select count(*) from orders o where o.member_id = m.id and o.id <> ${laterOrder.id} and o.status <> 'cancelled'
                 and (o.placed_at, o.id) < (${laterOrder.placedAt}::timestamptz, ${laterOrder.id}::uuid))::int as earlier
        from (select * from members where id = ${member.id} for update) m`.execute(t.db.db);
      return rows[0]!.earlier;
    });
    expect(counted).toBe(0);
  });

  it('leaves members without an order uncounted, and locks only the members it is given', async () => {
    const other = await t.member();
    const rows = await t.db.db.transaction().execute((trx) => lockMembersCounting(trx, t.program.id, [{ memberId: other.id }, { memberId: member.id, order: laterOrder }]));
    expect(rows.map((r) => [r.member.id, r.earlierOrders])).toEqual([[other.id, null], [member.id, 0]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
  });
});
