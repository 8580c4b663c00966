import { Type, type TSchema } from '@sinclair/typebox';
import { registerEventType } from '../events/event-types.ts';

// The event types orders, earning rules and actions write (docs/orders.md, docs/rules.md).

const open = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: true });
const Id = Type.String({ description: 'A Laurel id (UUID)' });
const NullableId = Type.Union([Id, Type.Null()]);

const orderData = open({
  orderId: Id, store: Type.Union([Type.String(), Type.Null()]), externalId: Type.String(), eventId: Type.String(),
  status: Type.String({ description: 'The order status after this event' }), memberId: NullableId,
});

for (const kind of ['created', 'paid', 'fulfilled', 'cancelled', 'refunded'] as const) {
  registerEventType({ type: `order.${kind}`, summary: `An order ${kind} event was received (first delivery only)`, source: 'orders', perMember: true, data: orderData });
}
registerEventType({
  type: 'order.claimed', summary: 'A shopper joined and an earlier order of theirs became theirs (claim window)', source: 'orders', perMember: true,
  data: open({ orderId: Id, externalId: Type.String(), memberId: Id }),
});
registerEventType({
  type: 'action.recorded', summary: 'A member action (review, survey, partner activity…) was recorded; points per wallet', source: 'rules', perMember: true,
  data: open({ memberId: Id, actionId: Id, type: Type.String(), quantity: Type.Integer(), points: Type.Record(Type.String(), Type.Integer()) }),
});
const progressData = open({
  memberId: Id, ruleId: Id, kind: Type.String({ description: 'threshold or challenge' }), name: Type.String(), periodKey: Type.String(),
  progress: Type.Integer(), reached: Type.Integer(), points: Type.Integer(), earned: Type.Integer(), reversed: Type.Integer(),
  source: Type.Object({ type: Type.String(), id: Id }),
});
registerEventType({ type: 'progress.reached', summary: 'A spend threshold step or a challenge was reached and its bonus earned', source: 'rules', perMember: true, data: progressData });
registerEventType({ type: 'progress.lost', summary: 'A refund took progress below a reached step; its bonus was taken back', source: 'rules', perMember: true, data: progressData });
registerEventType({
  type: 'rule.changed', summary: 'An earning rule was created or got a new version', source: 'rules', perMember: false,
  data: open({ ruleId: Id, version: Type.Integer(), kind: Type.String(), effectiveFrom: Type.String({ format: 'date-time' }) }),
});
