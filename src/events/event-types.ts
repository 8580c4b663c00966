import { Type, type TObject, type TSchema } from '@sinclair/typebox';

/**
 * The catalog of event types: the `data` schema of each, as documented in docs/events.md and
 * served at GET /v1/event-types. Webhook subscriptions are checked against it, so a typo such as
 * "point.earned" is refused instead of silently receiving nothing. A module that writes a new
 * type registers it here (registerEventType) at import time.
 *
 * Schemas list the fields consumers may rely on; events may carry more fields later (consumers
 * must ignore unknown fields), never fewer.
 */
export interface EventTypeInfo {
  type: string;
  summary: string;
  /** Which module writes it. */
  source: string;
  /** Whether the event concerns one member (its envelope memberId is set and per-member order applies). */
  perMember: boolean;
  data: TObject;
}

const open = <T extends Record<string, TSchema>>(properties: T, description?: string) =>
  Type.Object(properties, { additionalProperties: true, ...(description ? { description } : {}) });

const Id = Type.String({ description: 'A Laurel id (UUID)' });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
const LocalDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A calendar date in the program time zone' });
const Points = Type.Integer({ description: 'Points (or minor units of a currency wallet)' });
const WalletCode = Type.String({ description: 'Wallet code, e.g. "points"' });
const Reference = Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()]);

const MemberData = open({
  id: Id, customerId: NullableString, email: NullableString, phone: NullableString, firstName: NullableString,
  lastName: NullableString, birthday: NullableString, locale: NullableString, marketingConsent: Type.Boolean(),
  tags: Type.Array(Type.String()), attributes: Type.Record(Type.String(), Type.Unknown()),
  status: Type.Union([Type.Literal('active'), Type.Literal('blocked')]), enrollmentSource: Type.String(),
  enrolledAt: DateTime, createdAt: DateTime, updatedAt: DateTime,
}, 'The member as GET /v1/members/{id} returns it');

const reservationData = open({ memberId: Id, wallet: WalletCode, reservationId: Id, amount: Points });

const builtIn: EventTypeInfo[] = [
  { type: 'member.created', summary: 'A member joined (API, upsert or import)', source: 'members', perMember: true, data: open({ member: MemberData, actor: Type.String() }) },
  { type: 'member.updated', summary: 'A member’s profile, consent or status changed', source: 'members', perMember: true, data: open({ member: MemberData, actor: Type.String() }) },
  {
    type: 'member.status_changed', summary: 'A member was blocked or unblocked (also sends member.updated)', source: 'members', perMember: true,
    data: open({ memberId: Id, from: Type.String(), to: Type.String() }),
  },
  {
    type: 'points.earned', summary: 'Points were earned: a new lot, pending until vestsAt when pending is true', source: 'ledger', perMember: true,
    data: open({
      memberId: Id, wallet: WalletCode, amount: Points, operationId: Id, pending: Type.Boolean(),
      vestsAt: Type.Union([DateTime, Type.Null()]), expiresAt: Type.Union([DateTime, Type.Null()]), reference: Reference,
    }),
  },
  {
    type: 'points.vested', summary: 'Pending points became available (the lot’s return window closed); settledDebt of them paid off a negative balance', source: 'ledger', perMember: true,
    data: open({
      memberId: Id, wallet: WalletCode, amount: Points, settledDebt: Type.Integer({ minimum: 0 }), operationId: Id,
      lotId: Type.String(), vestedAt: DateTime,
    }),
  },
  {
    type: 'points.spent', summary: 'Points were spent, directly or by posting a reservation', source: 'ledger', perMember: true,
    data: open({ memberId: Id, wallet: WalletCode, amount: Points, operationId: Id, reservationId: Type.Optional(Id), reference: Reference }),
  },
  {
    type: 'points.reversed', summary: 'An earn was taken back (refund); forgiven is what the policy did not take', source: 'ledger', perMember: true,
    data: open({ memberId: Id, wallet: WalletCode, amount: Points, forgiven: Points, operationId: Id, earnOperationId: Id, reference: Reference }),
  },
  {
    type: 'points.restored', summary: 'A spend was given back (refund of an order paid with points)', source: 'ledger', perMember: true,
    data: open({ memberId: Id, wallet: WalletCode, amount: Points, operationId: Id, spendOperationId: Id, reference: Reference }),
  },
  {
    type: 'points.expired', summary: 'Lots of a member reached their expiry; amount is the total that expired', source: 'ledger', perMember: true,
    data: open({ memberId: Id, wallet: WalletCode, amount: Points, lotCount: Type.Integer({ minimum: 1 }) }),
  },
  {
    type: 'points.adjusted', summary: 'A manual adjustment: positive added, negative removed', source: 'ledger', perMember: true,
    data: open({ memberId: Id, wallet: WalletCode, amount: Type.Integer({ description: 'Signed' }), reason: Type.String(), operationId: Id }),
  },
  {
    type: 'points.transferred', summary: 'Points moved between two members (envelope memberId: the sender)', source: 'ledger', perMember: true,
    data: open({ fromMemberId: Id, toMemberId: Id, wallet: WalletCode, amount: Points, operationId: Id }),
  },
  { type: 'reservation.created', summary: 'Points were held for a checkout', source: 'ledger', perMember: true, data: reservationData },
  { type: 'reservation.voided', summary: 'A hold was released (checkout abandoned or order cancelled)', source: 'ledger', perMember: true, data: reservationData },
  { type: 'reservation.expired', summary: 'A hold timed out and its points returned', source: 'ledger', perMember: true, data: reservationData },
  {
    type: 'points.expiring_soon', summary: 'Reminder: points of a member expire within the configured number of days', source: 'jobs', perMember: true,
    data: open({
      memberId: Id, wallet: WalletCode, amount: Points,
      expiresAt: Type.String({ format: 'date-time', description: 'The earliest expiry instant of these points' }),
      lastDay: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Last local day the points can be used (program time zone)' }),
      daysLeft: Type.Integer({ minimum: 0 }), reminderDays: Type.Integer({ minimum: 1, description: 'The reminder window (N days ahead) that fired' }),
    }),
  },
  {
    type: 'member.birthday', summary: 'It is the member’s birthday in the program time zone (sent once a year)', source: 'jobs', perMember: true,
    data: open({
      memberId: Id, date: LocalDate, birthday: LocalDate,
      reward: Type.Union([Type.Object({ wallet: WalletCode, amount: Points, operationId: Id }), Type.Null()]),
    }),
  },
  {
    type: 'member.at_risk', summary: 'A member has not purchased for k × their usual interval (or the fixed number of days)', source: 'jobs', perMember: true,
    data: open({
      memberId: Id, lastPurchaseAt: DateTime, daysSinceLastPurchase: Type.Integer({ minimum: 0 }),
      usualIntervalDays: Type.Union([Type.Number(), Type.Null()]), thresholdDays: Type.Number(),
      basis: Type.Union([Type.Literal('usual_interval'), Type.Literal('fixed_days')]), purchases: Type.Integer({ minimum: 0 }),
      source: Type.Union([Type.Literal('orders'), Type.Literal('earns'), Type.Literal('activity')], { description: 'Where the purchase history came from: paid orders, earns referencing orders, or (no purchases) the last ledger activity' }),
    }),
  },
  {
    type: 'tier.changed', summary: 'A member moved to another tier (written by the tiers module)', source: 'tiers', perMember: true,
    data: open({
      memberId: Id,
      from: Type.Union([Type.String(), Type.Null()], { description: 'Code of the previous tier (null: none)' }),
      to: Type.Union([Type.String(), Type.Null()], { description: 'Code of the new tier (null: none)' }),
      direction: Type.Union([Type.Literal('up'), Type.Literal('down')]),
      reason: Type.String({ description: 'qualified, review, grace_expired, paid_started, paid_expired, manual…' }),
    }),
  },
  {
    type: 'reward.redeemed', summary: 'A member redeemed a reward', source: 'rewards', perMember: true,
    data: open({ memberId: Id, rewardId: Id, rewardName: Type.Optional(Type.String()), points: Type.Optional(Points), redemptionId: Type.Optional(Id) }),
  },
  {
    type: 'reward.affordable', summary: 'A member can now afford a reward they could not afford before', source: 'rewards', perMember: true,
    data: open({ memberId: Id, rewardId: Id, rewardName: Type.String(), cost: Points, wallet: Type.Optional(WalletCode), balance: Type.Optional(Points) }),
  },
  {
    type: 'message.created', summary: 'A rendered lifecycle message for the shop’s e-mail/SMS tool (the webhook message channel)', source: 'notifications', perMember: true,
    data: open({
      messageId: Id, memberId: Id, kind: Type.String(), locale: Type.String(), marketing: Type.Boolean(),
      to: Type.Object({ email: NullableString, phone: NullableString, name: NullableString }),
      subject: Type.String(), text: Type.String(), html: Type.String(), unsubscribeUrl: Type.String(),
    }),
  },
  {
    type: 'webhook_endpoint.disabled', summary: 'An endpoint kept failing and was disabled; its pending deliveries wait until it is enabled again', source: 'webhooks', perMember: false,
    data: open({ endpointId: Id, url: Type.String(), reason: Type.String(), failingSince: Type.Union([DateTime, Type.Null()]), consecutiveFailures: Type.Integer() }),
  },
];

/**
 * Types other modules write that they have not registered themselves (yet): listed so that they
 * can be subscribed to and are documented; a module's own registerEventType replaces the entry.
 */
const memberEvent = (type: string, source: string, summary: string, fields: Record<string, TSchema> = {}): EventTypeInfo => ({
  type, summary, source, perMember: true, data: open({ memberId: Id, ...fields }),
});
const programEvent = (type: string, source: string, summary: string, fields: Record<string, TSchema> = {}): EventTypeInfo => ({
  type, summary, source, perMember: false, data: open(fields),
});
const elsewhere: EventTypeInfo[] = [
  memberEvent('reward.redemption_cancelled', 'rewards', 'A redemption was cancelled; refundedPoints went back', { redemptionId: Id, rewardId: Id, refundedPoints: Points }),
  memberEvent('reward.fulfilled', 'rewards', 'A custom reward was fulfilled by the merchant', { redemptionId: Id, rewardId: Id }),
  memberEvent('voucher.consumed', 'rewards', 'A voucher was used by an order', { voucherId: Id, rewardId: Id, orderId: Type.String() }),
  memberEvent('voucher.released', 'rewards', 'A voucher was released by a cancelled order', { voucherId: Id, rewardId: Id, orderId: Type.String() }),
  memberEvent('voucher.expired', 'rewards', 'An unused voucher expired (points refunded per the reward’s setting)', { voucherId: Id, rewardId: Id, refundedPoints: Points }),
  memberEvent('points_payment.refunded', 'rewards', 'Part of an order paid with points was refunded; points restored', { paymentId: Id, orderId: Type.String(), restoredPoints: Points }),
  memberEvent('tier.grace_started', 'tiers', 'A member keeps a tier for a grace period before moving down', { tier: Type.String(), graceUntil: DateTime }),
  memberEvent('tier.grace_ended', 'tiers', 'A grace period ended (requalified or moved down)', { tier: Type.Union([Type.String(), Type.Null()]), reason: Type.String() }),
  memberEvent('tier.membership_purchased', 'tiers', 'A paid tier membership was bought', { membershipId: Id, tier: Type.String(), endsAt: DateTime }),
  memberEvent('tier.membership_renewed', 'tiers', 'A paid tier membership was renewed', { membershipId: Id, tier: Type.String(), endsAt: DateTime }),
  memberEvent('tier.membership_cancelled', 'tiers', 'A paid tier membership was cancelled'),
  programEvent('members.imported', 'imports', 'A bulk member import completed', { batchId: Id }),
  programEvent('adjustments.imported', 'imports', 'A bulk adjustment import completed', { batchId: Id }),
];

const registry = new Map<string, EventTypeInfo>([...elsewhere, ...builtIn].map((t) => [t.type, t]));

/** For modules that write their own event types (orders, tiers, rewards…). */
export function registerEventType(info: EventTypeInfo) {
  registry.set(info.type, info);
}

export function eventTypes(): EventTypeInfo[] {
  return [...registry.values()].sort((a, b) => a.type.localeCompare(b.type));
}

export function eventType(type: string): EventTypeInfo | undefined {
  return registry.get(type);
}

const PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

/** A subscription: an exact type, "prefix.*" (every type under it) or "*" (everything). */
export function subscriptionMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** Why a subscription pattern is refused, or null when it names known types. */
export function subscriptionProblem(pattern: string): string | null {
  if (!PATTERN.test(pattern)) return `"${pattern}" is not an event type, "prefix.*" or "*"`;
  if (pattern === '*') return null;
  const known = eventTypes().some((t) => subscriptionMatches(pattern, t.type));
  return known ? null : `"${pattern}" matches no event type`;
}

export const EventEnvelopeSchema = Type.Object(
  {
    id: Type.String({ description: 'Unique, stable event id ("evt_…"); also the webhook-id header, so receivers dedupe on it' }),
    type: Type.String({ description: 'Event type, e.g. points.earned' }),
    programId: Id,
    memberId: Type.Union([Id, Type.Null()], { description: 'The member the event is about, if any (per-member delivery order)' }),
    occurredAt: DateTime,
    data: Type.Record(Type.String(), Type.Unknown(), { description: 'Type-specific payload; see GET /v1/event-types' }),
  },
  { additionalProperties: false, description: 'Every event, in the outbox API and in webhook bodies' },
);
