import { sql, type OperationNodeSource, type Selectable } from 'kysely';
import { alongside as withAlongside } from '../db/alongside.ts';
import { recordset } from '../db/recordset.ts';
import { orderTierContributionsQuery } from '../tiers/tier-repository.ts';
import type { Executor, Tx } from '../db/database.ts';
import type { DB, OrderEventType, OrdersTable } from '../db/schema.ts';
import type { OutboxEvent } from '../events/event-repository.ts';
import { invariant } from '../http/error-codes.ts';

export async function findStoreByCode(db: Executor, programId: string, code: string) {
  return (await findStoresByCodes(db, programId, [code])).get(code);
}

/** The stores of these codes, by code (codes the program has no store for are absent). */
export async function findStoresByCodes(db: Executor, programId: string, codes: string[]) {
  const rows = codes.length === 0 ? [] : await db.selectFrom('stores').select(['id', 'code', 'kind', 'currency']).where('program_id', '=', programId)
    .where(sql<boolean>`code = any(${codes}::text[])`).execute();
  return new Map(rows.map((r) => [r.code, r]));
}

export async function findStoreById(db: Executor, programId: string, id: string) {
  return db.selectFrom('stores').select(['id', 'code', 'kind', 'currency']).where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export type OrderRow = Awaited<ReturnType<typeof lockOrder>> & {};

export interface OrderEventValues {
  event_id: string; type: OrderEventType; occurred_at: Date; payload: Record<string, unknown>; payload_hash: string; received_at: Date;
}

/**
 * Creates the order on its first event, recording that event with it (one statement, createOrders);
 * either way returns the order locked for this transaction. A row this statement inserted is
 * already ours (a concurrent first event waits on the unique key until we commit), so only an
 * existing order needs the second, locking read, and its event is recorded by insertOrderEvent.
 * `created` says this call inserted the order and its event: then nothing else refers to it yet.
 */
export async function lockOrCreateOrder(trx: Tx, programId: string, storeId: string | null, externalId: string, event: OrderEventValues) {
  const [created] = await createOrders(trx, programId, [{ storeId, externalId, event }]);
  if (created) return { order: created, created: true };
  let q = trx.selectFrom('orders').selectAll().where('program_id', '=', programId).where('external_id', '=', externalId);
  q = storeId === null ? q.where('store_id', 'is', null) : q.where('store_id', '=', storeId);
  return { order: await q.forUpdate().executeTakeFirstOrThrow(), created: false };
}

export async function lockOrder(trx: Tx, programId: string, id: string) {
  return trx.selectFrom('orders').selectAll().where('program_id', '=', programId).where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
}

export async function findOrder(db: Executor, programId: string, id: string) {
  return db.selectFrom('orders').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function findOrderByExternalId(db: Executor, programId: string, storeId: string | null, externalId: string) {
  let q = db.selectFrom('orders').selectAll().where('program_id', '=', programId).where('external_id', '=', externalId);
  q = storeId === null ? q.where('store_id', 'is', null) : q.where('store_id', '=', storeId);
  return q.executeTakeFirst();
}

export async function findOrderEvent(trx: Tx, orderId: string, eventId: string) {
  return trx.selectFrom('order_events').select(['id', 'payload_hash', 'type']).where('order_id', '=', orderId).where('event_id', '=', eventId).executeTakeFirst();
}

/** Records the event unless the order already has one with this id; true when it was recorded. */
export async function insertOrderEvent(trx: Tx, values: OrderEventValues & { program_id: string; order_id: string }): Promise<boolean> {
  const row = await trx.insertInto('order_events').values({ ...values, payload: JSON.stringify(values.payload) })
    .onConflict((oc) => oc.columns(['order_id', 'event_id']).doNothing())
    .returning('id').executeTakeFirst();
  return row !== undefined;
}

export async function eventsOfOrder(db: Executor, orderId: string) {
  return (await eventsOfOrders(db, [orderId])).get(orderId) ?? [];
}

/** The events of several orders (a list page) in one statement, each order's in occurrence order. */
export async function eventsOfOrders(db: Executor, orderIds: string[]) {
  const byOrder = new Map<string, { event_id: string; type: OrderEventType; occurred_at: Date; payload: unknown; received_at: Date }[]>();
  if (orderIds.length === 0) return byOrder;
  const rows = await db
    .selectFrom('order_events')
    .select(['order_id', 'event_id', 'type', 'occurred_at', 'payload', 'received_at'])
    .where('order_id', 'in', orderIds)
    .orderBy('order_id')
    .orderBy('occurred_at')
    .orderBy('event_id')
    .execute();
  for (const { order_id: orderId, ...event } of rows) {
    const list = byOrder.get(orderId) ?? [];
    list.push(event);
    byOrder.set(orderId, list);
  }
  return byOrder;
}

/** Every column an order's events decide, as the rows hold them (JSON columns as values). */
export type OrderUpdate = Omit<Selectable<OrdersTable>, 'id' | 'program_id' | 'store_id' | 'external_id' | 'created_at' | 'details' | 'context' | 'evaluation'>
  & { details: unknown; context: unknown; evaluation: unknown };

/** Updates the order; `event`, when given, is written to the outbox by the same statement. */
export async function updateOrder(trx: Tx, id: string, values: OrderUpdate, event?: OutboxEvent | null) {
  const { orders: [updated] } = await updateOrders(trx, [{ id, values, event }]);
  invariant(updated, `order ${id} is updated`);
  return updated;
}

/** Orders waiting for this shopper to join, still inside their claim window at the member's enrolment. */
export async function lockClaimableOrders(
  trx: Tx, programId: string, keys: { customerId: string | null; email: string | null; phone: string | null }, enrolledAt: Date,
) {
  const ors = [];
  if (keys.customerId) ors.push(sql<boolean>`customer_id = ${keys.customerId}`);
  if (keys.email) ors.push(sql<boolean>`email_normalized = ${keys.email.toLowerCase()}`);
  if (keys.phone) ors.push(sql<boolean>`phone = ${keys.phone}`);
  if (ors.length === 0) return [];
  return trx
    .selectFrom('orders')
    .select(['id'])
    .where('program_id', '=', programId)
    .where('member_id', 'is', null)
    .where('claim_until', '>=', enrolledAt)
    .where(sql<boolean>`(${sql.join(ors, sql` or `)})`)
    .orderBy('placed_at')
    .orderBy('id')
    .forUpdate()
    .execute();
}

/**
 * How many of the member's other orders came before this one (not cancelled): its number is that
 * + 1 (laurel_earlier_orders, migration 0015). Call it once the member is locked.
 */
export async function countEarlierOrders(trx: Tx, memberId: string, placedAt: Date, orderId: string): Promise<number> {
  const { rows } = await sql<{ earlier: number }>`select laurel_earlier_orders(${memberId}, ${orderId}, ${placedAt}) as earlier`.execute(trx);
  return rows[0]!.earlier;
}

export async function countMemberOrders(db: Executor, memberId: string): Promise<number> {
  const row = await db
    .selectFrom('orders')
    .select(sql<number>`count(*)::bigint`.as('n'))
    .where('member_id', '=', memberId)
    .where('status', '<>', 'cancelled')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function ordersOfMember(db: Executor, programId: string, memberId: string, filter: { before?: { placedAt: Date; id: string }; limit: number }) {
  let q = db.selectFrom('orders').selectAll().where('program_id', '=', programId).where('member_id', '=', memberId);
  if (filter.before) q = q.where(sql<boolean>`(placed_at, id) < (${filter.before.placedAt}, ${filter.before.id}::uuid)`);
  return q.orderBy('placed_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

/** The member row, locked: awards of one member (caps, limits, progress) are decided one at a time. */
export async function lockMember(trx: Tx, programId: string, memberId: string) {
  return (await lockMembers(trx, programId, [memberId]))[0];
}

export async function findPaymentOperation(db: Executor, programId: string, id: string) {
  return db.selectFrom('operations').select(['id', 'kind', 'member_id', 'amount', 'restored']).where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function findPaymentReservation(db: Executor, programId: string, id: string) {
  return db.selectFrom('reservations').select(['id', 'status', 'member_id', 'post_operation_id', 'amount', 'expires_at']).where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

// ---------------------------------------------------------------- new orders together (a group commit)

/** A new order's first event, to create with it. */
export interface NewOrder {
  storeId: string | null;
  externalId: string;
  event: OrderEventValues;
}

/**
 * lockOrCreateOrder for several orders at once (store and external id pairs distinct): inserts
 * the orders and their first events in one statement and returns the orders it created. An order
 * that exists already (or is being created by a transaction still running, which this waits
 * for) is not returned.
 */
export async function createOrders(trx: Tx, programId: string, orders: NewOrder[]): Promise<OrderRow[]> {
  if (orders.length === 0) return [];
  const rows = orders.map((o) => ({ store_id: o.storeId, external_id: o.externalId, ...o.event }));
  const { rows: created } = await sql<OrderRow>`
    with r as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
        store_id uuid, external_id text, event_id text, type text, occurred_at timestamptz, payload jsonb, payload_hash text, received_at timestamptz)
    ),
    o as (
      insert into orders (program_id, store_id, external_id, status)
      -- In one order for every batch: two batches holding some of the same new orders wait, never deadlock.
      select ${programId}::uuid, store_id, external_id, 'pending' from r order by store_id nulls first, external_id
      on conflict do nothing
      returning *
    ),
    e as (
      insert into order_events (program_id, order_id, event_id, type, occurred_at, payload, payload_hash, received_at)
      select o.program_id, o.id, r.event_id, r.type, r.occurred_at, r.payload, r.payload_hash, r.received_at
      from o join r on r.external_id = o.external_id and r.store_id is not distinct from o.store_id
    )
    select * from o`.execute(trx);
  return created;
}

/**
 * Takes back what a batch recorded for requests it hands back, before anything else refers to it:
 * the orders createOrders made in this transaction (with their events), and the events
 * recordEventsOfOrders added to orders that existed.
 */
export async function dropRecorded(trx: Tx, recorded: { orderIds: string[]; eventIds: number[] }): Promise<{ orders: number; events: number }> {
  if (recorded.orderIds.length === 0 && recorded.eventIds.length === 0) return { orders: 0, events: 0 };
  const { rows } = await sql<{ orders: number; events: number }>`
    with e as (delete from order_events where order_id = any(${recorded.orderIds}::uuid[]) or id = any(${recorded.eventIds}::bigint[]) returning order_id),
    d as (delete from orders where id = any(${recorded.orderIds}::uuid[]) returning id)
    select (select count(*)::int from d) as orders, (select count(*)::int from e where not (order_id = any(${recorded.orderIds}::uuid[]))) as events`.execute(trx);
  return rows[0]!;
}

/**
 * Locks the orders of these (store, external id) pairs that are linked to a member and not
 * cancelled, in id order (as every batch does, so two wait for each other and never deadlock); the
 * rows come back as they are once locked. Others are not locked at all: above all no order still
 * waiting for its shopper, which a member's enrolment locks in another order to claim it. A pair
 * is found through the unique key's index, with or without a store.
 */
export async function lockLinkedOrders(trx: Tx, programId: string, keys: { storeId: string | null; externalId: string }[]): Promise<OrderRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<OrderRow>`
    with k as (${recordset(keys.map((k) => ({ store_id: k.storeId, external_id: k.externalId })), { store_id: 'uuid', external_id: 'text' })}),
    ids as (
      select o.id from k cross join lateral (
        select id, member_id, cancelled_at from orders where program_id = ${programId} and store_id is null and external_id = k.external_id and k.store_id is null
        union all
        select id, member_id, cancelled_at from orders where program_id = ${programId} and store_id = k.store_id and external_id = k.external_id
      ) o
      -- Once linked or cancelled, an order stays so: a row filtered out here cannot qualify later.
      where o.member_id is not null and o.cancelled_at is null
    )
    select o.* from orders o where o.id = any(array(select id from ids))
    order by o.id
    for update of o`.execute(trx);
  return rows;
}

/** What the ledger holds of an order: what its settlement so far wrote. */
export interface OrderLedgerTraces {
  /** Any award, rule point, progress contribution or tier activity of it: it has been settled. */
  settled: boolean;
  /** Rule points by rule id. */
  rulePoints: Record<string, number>;
  /** Its tier activity so far (orderTierContributions, settleOrderTierActivity's starting point). */
  tier: { netSpend: number; orders: number };
  progress: boolean;
  awards: boolean;
}

/**
 * Records a new event of each of these orders (locked by this transaction) unless the order has
 * one with its id, and reads every event of those orders: by order, in occurrence order, with the
 * id of the row recorded now (null: the event id was taken, a resend or a conflict, told apart by
 * the events' payload hashes), and what the ledger holds of the order (awards, rule points,
 * progress, tier activity). Read after the orders were locked, by a statement of its own, so
 * that it sees everything any other transaction settled for them before.
 */
export async function recordEventsOfOrders(trx: Tx, programId: string, events: (OrderEventValues & { order_id: string })[]) {
  type EventRow = { event_id: string; type: OrderEventType; occurred_at: Date; payload: unknown; payload_hash: string; received_at: Date };
  const byOrder = new Map<string, { recordedId: number | null; traces: OrderLedgerTraces; events: EventRow[] }>();
  if (events.length === 0) return byOrder;
  const { rows } = await sql<EventRow & {
    order_id: string; id: number; fresh: boolean; awards: boolean; progress: boolean; rule_points: Record<string, number>; net_spend: number; orders: number; sources: number;
  }>`
    with r as (${recordset(events, {
      order_id: 'uuid', event_id: 'text', type: 'text', occurred_at: 'timestamptz', payload: 'jsonb', payload_hash: 'text', received_at: 'timestamptz',
    })}),
    added as (
      insert into order_events (program_id, order_id, event_id, type, occurred_at, payload, payload_hash, received_at)
      select ${programId}, order_id, event_id, type, occurred_at, payload, payload_hash, received_at from r
      on conflict (order_id, event_id) do nothing
      returning id, order_id, event_id, type, occurred_at, payload, payload_hash, received_at
    ),
    -- The statement does not see its own inserts: the new rows come from the insert's RETURNING.
    -- Rows by key with = any(array(…)): joined to the record set, which the planner expects to
    -- hold 100 rows, they were hash-joined from a sequential scan of the whole table (20 ms a batch).
    e as (
      select order_id, id, true as fresh, event_id, type, occurred_at, payload, payload_hash, received_at from added
      union all
      select order_id, id, false, event_id, type, occurred_at, payload, payload_hash, received_at from order_events where order_id = any(array(select order_id from r))
    ),
    held as (
      select o.id,
        exists (select 1 from awards a where a.order_id = o.id) as awards,
        exists (select 1 from progress_contributions c where c.member_id = o.member_id and c.source_type = 'order' and c.source_id = o.id) as progress,
        coalesce((select jsonb_object_agg(p.rule_id, p.points) from rule_points p where p.member_id = o.member_id and p.source_type = 'order' and p.source_id = o.id), '{}') as rule_points,
        t.net_spend, t.orders, t.sources
      from orders o
      cross join lateral (${orderTierContributionsQuery(sql.ref('o.id'))}) t
      where o.id = any(array(select order_id from r))
    )
    select e.*, h.awards, h.progress, h.rule_points, h.net_spend, h.orders, h.sources from e join held h on h.id = e.order_id
    order by e.order_id, e.occurred_at, e.event_id`.execute(trx);
  for (const { order_id: orderId, id, fresh, awards, progress, rule_points: rulePoints, net_spend: netSpend, orders, sources, ...event } of rows) {
    let entry = byOrder.get(orderId);
    if (!entry) {
      const settled = awards || progress || Object.keys(rulePoints).length > 0 || sources > 0;
      entry = { recordedId: null, traces: { settled, rulePoints, tier: { netSpend, orders }, progress, awards }, events: [] };
      byOrder.set(orderId, entry);
    }
    if (fresh) entry.recordedId = id;
    entry.events.push(event);
  }
  return byOrder;
}

/** lockMember for several members, in id order (two batches wait for each other, never deadlock). */
export async function lockMembers(trx: Tx, programId: string, memberIds: string[]) {
  return (await lockMembersCounting(trx, programId, [...new Set(memberIds)].map((memberId) => ({ memberId })))).map((l) => l.member);
}

/**
 * Locks the members in id order (the order every order event locks them in) and reads them after
 * their locks; for those given an order, also counts the member's orders placed before it
 * (laurel_earlier_orders, which reads after that member's lock). One statement. Each member once.
 */
export async function lockMembersCounting(trx: Tx, programId: string, members: { memberId: string; order?: { id: string; placedAt: Date } }[]) {
  if (members.length === 0) return [];
  invariant(new Set(members.map((m) => m.memberId)).size === members.length, 'each member is locked once');
  // The count is taken in the projection above the locking subquery: for each row once its lock is held.
  const { rows } = await sql<Selectable<DB['members']> & { earlier_orders: number | null }>`
    select m.*, case when q.order_id is null then null else laurel_earlier_orders(m.id, q.order_id, q.placed_at) end as earlier_orders
    from (select * from members where program_id = ${programId} and id = any(${members.map((m) => m.memberId)}::uuid[]) order by id for update) m
    join unnest(${members.map((m) => m.memberId)}::uuid[], ${members.map((m) => m.order?.id ?? null)}::uuid[], ${members.map((m) => m.order?.placedAt ?? null)}::timestamptz[])
      as q(member_id, order_id, placed_at) on q.member_id = m.id
    order by m.id`.execute(trx);
  return rows.map(({ earlier_orders: earlierOrders, ...member }) => ({ member, earlierOrders }));
}

/**
 * updateOrder for several orders in one statement, each with its outbox event if any, and with the
 * `inserts` sent alongside (src/db/alongside.ts): how many rows each inserted comes back in
 * `alongsideRows`, in their order.
 */
export async function updateOrders(
  trx: Tx, updates: { id: string; values: OrderUpdate; event?: OutboxEvent | null }[], inserts: OperationNodeSource[] = [],
): Promise<{ orders: OrderRow[]; alongsideRows: number[] }> {
  if (updates.length === 0) return { orders: [], alongsideRows: [] };
  const { ctes, counts } = withAlongside(inserts);
  const rows = updates.map(({ id, values, event }) => ({
    id, ...values, event_program_id: event?.programId, event_type: event?.type, event_member_id: event?.memberId, event_payload: event?.payload,
  }));
  const { rows: updated } = await sql<OrderRow & { alongside_rows: number[] }>`
    with ${ctes} r as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
        id uuid, member_id uuid, customer_id text, email_normalized text, phone text, status text, currency text, channel text,
        placed_at timestamptz, paid_at timestamptz, fulfilled_at timestamptz, cancelled_at timestamptz, claim_until timestamptz,
        merchandise_minor bigint, refunded_minor bigint, details jsonb, details_hash text, context jsonb, evaluation jsonb,
        evaluated_hash text, updated_at timestamptz,
        event_program_id uuid, event_type text, event_member_id uuid, event_payload jsonb)
    ),
    announced as (
      insert into events (program_id, type, member_id, payload) select event_program_id, event_type, event_member_id, event_payload from r where event_type is not null
    )
    update orders o set
      member_id = r.member_id, customer_id = r.customer_id, email_normalized = r.email_normalized, phone = r.phone, status = r.status,
      currency = r.currency, channel = r.channel, placed_at = r.placed_at, paid_at = r.paid_at, fulfilled_at = r.fulfilled_at,
      cancelled_at = r.cancelled_at, claim_until = r.claim_until, merchandise_minor = r.merchandise_minor, refunded_minor = r.refunded_minor,
      details = r.details, details_hash = r.details_hash, context = r.context, evaluation = r.evaluation, evaluated_hash = r.evaluated_hash,
      updated_at = r.updated_at
    -- The orders by primary key (= any(array(…))) as well as joined: joined alone to the record
    -- set, which the planner expects to hold 100 rows, they were hash-joined from a sequential scan
    -- of every order (10–16 ms a batch at 21,000 orders, when the statistics lagged the table).
    from r where o.id = r.id and o.id = any(array(select id from r))
    returning o.*, ${counts} as alongside_rows`.execute(trx);
  return { orders: updated.map(({ alongside_rows: _, ...order }) => order as OrderRow), alongsideRows: updated[0]?.alongside_rows ?? [] };
}
