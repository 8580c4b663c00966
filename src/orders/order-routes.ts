import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CursorQuery, IdempotencyHeaders, Metadata, Nullable, Page, problems, Timestamp, Uuid } from '../http/schemas.ts';
import { ledgerHttp } from '../ledger/ledger-http.ts';
import { BreakdownItemSchema, oneOf, SkippedSchema } from '../rules/rule-schemas.ts';
import * as ops from './order-operations.ts';

const Text = Type.String({ minLength: 1, maxLength: 255 });
const Minor = Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'Minor units (cents)' });

const LineSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 255, description: 'The shop’s line id; refunds name it' }),
  sku: Type.Optional(Text), productId: Type.Optional(Text),
  categories: Type.Optional(Type.Array(Text, { maxItems: 50 })), tags: Type.Optional(Type.Array(Text, { maxItems: 50 })),
  quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  unitPriceMinor: Minor,
  discountMinor: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'Discount on the whole line' })),
  giftCard: Type.Optional(Type.Boolean({ description: 'Gift cards earn nothing under the default exclusions' })),
}, { additionalProperties: false });

const OrderDetailsSchema = Type.Object({
  placedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the order was placed: the rules in force then apply (default: the earliest event time)' })),
  currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'Must be the program’s (or the store’s) currency' }),
  channel: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'online, pos… (default: the store’s kind)' })),
  customer: Type.Optional(Type.Object({
    memberId: Type.Optional(Uuid), customerId: Type.Optional(Text), email: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
    phone: Type.Optional(Type.String({ minLength: 2, maxLength: 32 })),
  }, { additionalProperties: false, description: 'Who ordered; without a member yet, the order waits for them to join (claim window)' })),
  lines: Type.Array(LineSchema, { minItems: 1, maxItems: 500 }),
  discountMinor: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'Order-level discount, spread over the lines' })),
  shippingMinor: Type.Optional(Minor),
  taxMinor: Type.Optional(Minor),
  paidWithPoints: Type.Optional(Type.Object({
    amountMinor: Minor,
    operationId: Type.Optional(Uuid), reservationId: Type.Optional(Uuid),
  }, { additionalProperties: false, description: 'The part paid with points: earns nothing by default; refunds give the points back (restore)' })),
}, { additionalProperties: false });

const RefundSchema = Type.Object({
  lines: Type.Optional(Type.Array(Type.Object({ lineId: Text, quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }, { additionalProperties: false }), { maxItems: 500 })),
  amountMinor: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'Merchandise money refunded without naming lines' })),
  shippingMinor: Type.Optional(Minor),
  full: Type.Optional(Type.Boolean({ description: 'Everything refunded' })),
}, { additionalProperties: false });

const EventBody = Type.Object({
  store: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Store code (see /v1/stores); order ids are unique per store' })),
  orderId: Text,
  eventId: Type.String({ minLength: 1, maxLength: 255, description: 'Unique per order: a resent event (same id) has no further effect' }),
  type: oneOf(['created', 'paid', 'fulfilled', 'cancelled', 'refunded']),
  occurredAt: Type.String({ format: 'date-time' }),
  order: Type.Optional(OrderDetailsSchema),
  refund: Type.Optional(RefundSchema),
}, { additionalProperties: false });

const OrderSchema = Type.Object({
  id: Uuid, store: Nullable(Type.String()), orderId: Type.String(),
  status: Type.String({ description: 'pending, paid, fulfilled, partially_refunded, refunded, cancelled' }),
  memberId: Nullable(Uuid), currency: Nullable(Type.String()), channel: Nullable(Type.String()),
  placedAt: Nullable(Timestamp), paidAt: Nullable(Timestamp), fulfilledAt: Nullable(Timestamp), cancelledAt: Nullable(Timestamp),
  claimUntil: Nullable(Timestamp), merchandiseMinor: Type.Integer(), refundedMinor: Type.Integer(),
  lines: Type.Array(Metadata), shippingMinor: Type.Integer(), taxMinor: Type.Integer(), discountMinor: Type.Integer(),
  refunds: Type.Array(Type.Object({ eventId: Type.String(), occurredAt: Timestamp, lines: Type.Array(Metadata), amountMinor: Type.Integer(), full: Type.Boolean() })),
  events: Type.Array(Type.Object({ eventId: Type.String(), type: Type.String(), occurredAt: Timestamp, receivedAt: Timestamp })),
  points: Type.Object({
    held: Type.Record(Type.String(), Type.Integer(), { description: 'Points of this order in the ledger now, per wallet (earned − reversed)' }),
    expected: Type.Record(Type.String(), Type.Integer(), { description: 'What the order is worth now, per wallet' }),
    awaiting: Nullable(Type.String({ description: 'details, member, payment or fulfilment: what the points still wait for' })),
    orderNumber: Nullable(Type.Integer()),
    breakdown: Type.Array(BreakdownItemSchema),
    notApplied: Type.Array(SkippedSchema),
    operations: Type.Array(Type.Object({
      operationId: Uuid, wallet: Type.String(), amount: Type.Integer(), reversed: Type.Integer(), component: Type.String(),
      pending: Type.Boolean(), vestsAt: Nullable(Timestamp), createdAt: Timestamp,
    })),
  }),
  pointsPayment: Nullable(Type.Object({ amountMinor: Type.Integer(), operationId: Nullable(Uuid), reservationId: Nullable(Uuid) })),
  createdAt: Timestamp, updatedAt: Timestamp,
});

export const orderRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { mutateNaturallyKeyedGrouped, naturallyKeyedGroupOf, read } = ledgerHttp(app);
  // Order events of a program sent at the same time are written together: new orders, payments,
  // fulfilments that change nothing in the ledger, resends (docs/architecture.md, "Group commit").
  const group = naturallyKeyedGroupOf<ops.OrderEventInput>(ops.ingestOrderEventsMany);

  app.post('/orders/events', {
    schema: {
      tags: ['orders'], summary: 'Send an order event (created, paid, fulfilled, cancelled, refunded); any order of arrival gives the same result',
      description: 'Idempotent by store + orderId + eventId (201 the first time, 200 with duplicate: true for a resend); an Idempotency-Key header is honoured but not needed. See docs/orders.md.',
      headers: IdempotencyHeaders, body: EventBody,
      response: { 200: Type.Object({ duplicate: Type.Boolean(), order: OrderSchema }), 201: Type.Object({ duplicate: Type.Boolean(), order: OrderSchema }), ...problems(404, 409, 422) },
    },
  }, async (request, reply) => mutateNaturallyKeyedGrouped(
    request, reply, (body) => ((body as { duplicate: boolean }).duplicate ? 200 : 201),
    { group, input: request.body, groupable: ops.groupableOrderEvent(request.body) },
    (ctx) => ops.ingestOrderEvent(ctx, request.body),
  ));

  app.get('/orders/lookup', {
    schema: {
      tags: ['orders'], summary: 'Find an order by the shop’s order id (and store code)',
      querystring: Type.Object({ orderId: Text, store: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
      response: { 200: OrderSchema, ...problems(404) },
    },
  }, async (request) => read(request, (ctx) => ops.lookupOrder(ctx, request.query.store, request.query.orderId)));

  app.get('/orders/:id', {
    schema: { tags: ['orders'], summary: 'An order: state derived from its events, points with breakdown, refunds', params: Type.Object({ id: Uuid }), response: { 200: OrderSchema, ...problems(404) } },
  }, async (request) => read(request, (ctx) => ops.getOrder(ctx, request.params.id)));

  app.get('/members/:id/orders', {
    schema: {
      tags: ['orders'], summary: 'A member’s orders, newest first', params: Type.Object({ id: Uuid }),
      querystring: Type.Object({ cursor: CursorQuery.cursor, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) }, { additionalProperties: false }),
      response: { 200: Page(OrderSchema), ...problems(404) },
    },
  }, async (request) => read(request, (ctx) => ops.listMemberOrders(ctx, request.params.id, request.query)));
};
