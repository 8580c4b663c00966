import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { databaseNow } from '../db/database.ts';
import { replyIdempotent } from '../http/idempotent-reply.ts';
import { principalOf } from '../http/principal.ts';
import { CursorQuery, IdempotencyHeaders, Nullable, Page, problems, ReferenceSchema, SignedAmount, Timestamp, Uuid, WalletCode } from '../http/schemas.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import * as ops from './tier-operations.ts';
import type { TierContext } from './tier-operations.ts';
import type { TierChange } from './tier-repository.ts';
import { reviewTiers } from './tier-review.ts';

const TierCode = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$', description: 'Tier code, e.g. "gold"' });
const Kind = Type.Union([Type.Literal('earned'), Type.Literal('invitation'), Type.Literal('paid')]);
const WindowKind = Type.Union([Type.Literal('calendar_year'), Type.Literal('rolling_months'), Type.Literal('lifetime'), Type.Literal('anniversary')]);
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Why: kept in the audit log and the tier history' });
const DateTime = Type.String({ format: 'date-time' });
const Perk = Type.Object({ code: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }), label: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const Thresholds = Type.Record(Type.String({ maxLength: 64 }), Count, {
  maxProperties: 10, description: 'Minimum per metric over the window: net_spend (minor units), points_earned, orders',
});

const BenefitsInput = Type.Object({
  earnMultiplierBp: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'Earning multiplier in basis points: 10000 = ×1, 15000 = +50 %, 20000 = ×2' })),
  freeShipping: Type.Optional(Type.Boolean()),
  earlyAccess: Type.Optional(Type.Boolean()),
  discountBp: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Checkout discount in basis points: 1000 = 10 %' })),
  perks: Type.Optional(Type.Array(Perk, { maxItems: 20 })),
  entryReward: Type.Optional(Type.Object({ points: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), wallet: Type.Optional(WalletCode) }, { additionalProperties: false, description: 'Points given once, the first time a member reaches the tier' })),
  birthdayGift: Type.Optional(Type.Object({
    points: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })), wallet: Type.Optional(WalletCode),
    rewardCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A reward of the catalog to issue on the birthday' })),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const TierInput = Type.Object({
  code: TierCode,
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
  kind: Type.Optional(Kind),
  thresholds: Type.Optional(Thresholds),
  price: Type.Optional(Type.Object({ amountMinor: Count, periodMonths: Type.Integer({ minimum: 1, maximum: 120 }) }, { additionalProperties: false })),
  benefits: Type.Optional(BenefitsInput),
}, { additionalProperties: false });

const LadderBody = Type.Object({
  window: Type.Object({ kind: WindowKind, months: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })) }, { additionalProperties: false }),
  qualification: Type.Optional(Type.Union([Type.Literal('any'), Type.Literal('all')], { description: 'With several metrics: any one threshold, or all of them' })),
  graceDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 180 })),
  downgradeOneLevelAtATime: Type.Optional(Type.Boolean()),
  refunds: Type.Optional(Type.Union([Type.Literal('at_review'), Type.Literal('immediate')], { description: 'Whether a refund may lower the tier at once (default: at the review)' })),
  tiers: Type.Array(TierInput, { minItems: 1, maxItems: 100, description: 'Lowest tier first' }),
}, { additionalProperties: false });

const BenefitsView = Type.Object({
  earnMultiplierBp: Type.Integer(), freeShipping: Type.Boolean(), earlyAccess: Type.Boolean(), discountBp: Type.Integer(), perks: Type.Array(Perk),
  entryReward: Nullable(Type.Object({ points: Type.Integer(), wallet: Type.String() })),
  birthdayGift: Nullable(Type.Object({ points: Nullable(Type.Integer()), wallet: Nullable(Type.String()), rewardCode: Nullable(Type.String()) })),
});

const tierViewFields = {
  code: Type.String(), name: Type.String(), description: Nullable(Type.String()), kind: Kind, rank: Type.Integer(),
  thresholds: Nullable(Type.Record(Type.String(), Type.Integer())),
  benefits: BenefitsView, updatedAt: Timestamp,
};
const TierView = Type.Object({ ...tierViewFields, price: Nullable(Type.Object({ amountMinor: Type.Integer(), periodMonths: Type.Integer() })) });

const LadderView = Type.Object({
  configured: Type.Boolean(),
  window: Nullable(Type.Object({ kind: WindowKind, months: Nullable(Type.Integer()) })),
  qualification: Type.String(), graceDays: Type.Integer(), downgradeOneLevelAtATime: Type.Boolean(), refunds: Type.String(),
  tiers: Type.Array(TierView), updatedAt: Nullable(Timestamp),
});

const TableView = Type.Object({
  configured: Type.Boolean(),
  rules: Nullable(Type.Object({
    window: Type.Object({ kind: WindowKind, months: Nullable(Type.Integer()) }), qualification: Type.String(), currency: Type.String(),
    text: Type.Array(Type.String(), { description: 'How tiers move, in plain sentences' }),
  })),
  tiers: Type.Array(Type.Object({
    ...tierViewFields,
    price: Nullable(Type.Object({ amountMinor: Type.Integer(), periodMonths: Type.Integer(), formatted: Type.String() })),
    howToGet: Type.String(),
    thresholdsFormatted: Type.Array(Type.Object({ metric: Type.String(), label: Type.String(), minimum: Type.Integer(), formatted: Type.String() })),
    benefitsText: Type.Array(Type.String()),
  })),
});

const TierBrief = Type.Object({ code: Type.String(), name: Type.String(), rank: Type.Integer(), kind: Kind });
const Source = Type.String({ description: 'earned, entry, paid, invitation, floor or lock' });

const MembershipView = Type.Object({
  id: Uuid, memberId: Uuid, tier: Type.String(), startsAt: Timestamp, endsAt: Timestamp, status: Type.String(), active: Type.Boolean(),
  autoRenew: Type.Boolean(), periods: Type.Integer(), priceMinor: Type.Integer(), reference: Nullable(ReferenceSchema),
  cancelledAt: Nullable(Timestamp), createdAt: Timestamp,
});

const StateView = Type.Object({
  memberId: Uuid,
  tier: Nullable(TierBrief),
  source: Nullable(Source),
  since: Nullable(Timestamp),
  earned: Type.Object({
    tier: Nullable(TierBrief), qualifiedAt: Nullable(Timestamp), reviewAt: Nullable(Timestamp), lastReviewAt: Nullable(Timestamp),
    grace: Nullable(Type.Object({ until: Timestamp, thenTier: Nullable(TierBrief) })),
  }),
  floor: Nullable(Type.Object({ tier: TierBrief, until: Nullable(Timestamp), reason: Nullable(Type.String()) })),
  lock: Nullable(Type.Object({ tier: TierBrief, until: Timestamp, reason: Nullable(Type.String()) })),
  invitation: Nullable(Type.Object({ tier: TierBrief, until: Nullable(Timestamp) })),
  memberships: Type.Array(MembershipView),
});

const Gap = Type.Object({
  metric: Type.String(), required: Type.Integer(), current: Type.Integer(), missing: Type.Integer(),
  formattedRequired: Type.String(), formattedCurrent: Type.String(), formattedMissing: Type.String(),
});

const ProgressView = Type.Object({
  memberId: Uuid,
  tier: Nullable(TierBrief),
  source: Nullable(Source),
  window: Type.Object({ kind: WindowKind, months: Nullable(Type.Integer()), start: Nullable(Timestamp), end: Nullable(Timestamp) }),
  metrics: Type.Array(Type.Object({ metric: Type.String(), value: Type.Integer(), formatted: Type.String() })),
  next: Nullable(Type.Object({ tier: TierBrief, qualification: Type.String(), gaps: Type.Array(Gap), message: Type.String() })),
  keep: Nullable(Type.Object({
    tier: TierBrief, reviewAt: Timestamp, graceUntil: Nullable(Timestamp), met: Type.Boolean(), gaps: Type.Array(Gap), message: Type.String(),
  })),
  heldBy: Nullable(Type.Object({ source: Source, until: Nullable(Timestamp) })),
});

const PerksView = Type.Object({
  memberId: Uuid,
  tier: Nullable(Type.Object({ code: Type.String(), name: Type.String(), rank: Type.Integer() })),
  source: Nullable(Source),
  freeShipping: Type.Boolean(), earlyAccess: Type.Boolean(),
  discountBp: Type.Integer({ description: '1000 = 10 % off' }),
  earnMultiplierBp: Type.Integer({ description: '10000 = ×1' }),
  extra: Type.Array(Perk),
});

const HistoryItem = Type.Object({
  id: Type.String(), from: Nullable(Type.String()), to: Nullable(Type.String()), direction: Type.String(), reason: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()), actor: Type.String(), at: Timestamp,
});

const ChangeView = Type.Object({ memberId: Uuid, from: Nullable(Type.String()), to: Nullable(Type.String()), direction: Type.String(), reason: Type.String() });
const Changed = Type.Object({ changes: Type.Array(ChangeView), state: StateView });

const CurrentTierView = Type.Object({
  code: Type.String(), name: Type.String(), rank: Type.Integer(), kind: Kind, source: Source, earnMultiplierBp: Type.Integer(),
  perks: Type.Object({ freeShipping: Type.Boolean(), earlyAccess: Type.Boolean(), discountBp: Type.Integer(), extra: Type.Array(Perk) }),
});

const ReviewView = Type.Object({
  programId: Uuid, now: Timestamp, batches: Type.Integer(), members: Type.Integer(), reviewed: Type.Integer(), graceStarted: Type.Integer(),
  upgraded: Type.Integer(), downgraded: Type.Integer(), stoppedEarly: Type.Boolean(),
});

const MemberParams = Type.Object({ id: Uuid });
const errors = (...statuses: number[]) => problems(404, ...statuses);

const changeView = (c: TierChange) => ({ memberId: c.member_id, from: c.from_tier, to: c.to_tier, direction: c.direction, reason: c.reason });
const toDate = (value: string | null | undefined) => (value === undefined || value === null ? value : new Date(value));

export const tierRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, clock } = app.deps;
  const now = async () => clock?.() ?? (await databaseNow(db));

  /** Mutations of a member's tier: authenticated, idempotent by key, one transaction. */
  async function mutate(request: FastifyRequest, reply: FastifyReply, status: number, work: (ctx: TierContext) => Promise<unknown>) {
    const p = principalOf(request);
    return replyIdempotent(request, reply, { status, required: true }, async (trx) => work(await ops.tierContext(trx, p.programId, clock?.(), p.actor)));
  }

  /** Ladder edits are whole-document replacements: naturally idempotent, no key needed. */
  async function configure<T>(request: FastifyRequest, work: (ctx: TierContext) => Promise<T>): Promise<T> {
    const p = principalOf(request);
    return inTransaction(db, async (trx) => work(await ops.tierContext(trx, p.programId, clock?.(), p.actor)));
  }

  const tags = ['tiers'];
  const withState = (result: { changes: TierChange[]; state: unknown }) => ({ changes: result.changes.map(changeView), state: result.state });

  app.get('/tiers', {
    schema: { tags, summary: 'The program’s tier ladder and settings', response: { 200: LadderView, ...problems() } },
  }, async (request) => ops.getLadder(db, principalOf(request).programId));

  app.put('/tiers', {
    schema: {
      tags, summary: 'Replace the tier ladder (lowest tier first); tiers keep their identity by code',
      body: LadderBody, response: { 200: LadderView, ...problems(409, 422) },
    },
  }, async (request) => configure(request, (ctx) => ops.putLadder(ctx, request.body)));

  app.delete('/tiers/:code', {
    schema: {
      tags, summary: 'Remove a tier nobody holds', params: Type.Object({ code: TierCode }),
      response: { 200: LadderView, ...errors(409) },
    },
  }, async (request) => configure(request, (ctx) => ops.removeTier(ctx, request.params.code)));

  app.get('/tiers/table', {
    schema: { tags, summary: 'The “how tiers work” table for the shop: each tier, how to get it, what it gives', response: { 200: TableView, ...problems() } },
  }, async (request) => ops.tierTable(db, principalOf(request).programId));

  app.post('/tiers/review', {
    schema: {
      tags, summary: 'Run the tier review now for this program (what the scheduled job does): due reviews, grace periods, ended overrides and memberships',
      response: { 200: ReviewView, ...problems() },
    },
  }, async (request) => reviewTiers(db, { programId: principalOf(request).programId, now: clock?.() }));

  app.get('/members/:id/tier', {
    schema: { tags, summary: 'A member’s tier and what gives it: earned (with review and grace), floor, lock, invitation, paid memberships', params: MemberParams, response: { 200: StateView, ...errors() } },
  }, async (request) => ops.memberTierState(db, principalOf(request).programId, request.params.id, await now()));

  app.get('/members/:id/tier/progress', {
    schema: { tags, summary: 'Progress: the next tier and what is missing, and what keeps the current tier by the review date', params: MemberParams, response: { 200: ProgressView, ...errors() } },
  }, async (request) => ops.memberProgress(db, principalOf(request).programId, request.params.id, await now()));

  app.get('/members/:id/tier/perks', {
    schema: { tags, summary: 'Checkout perks of the member’s current tier: free shipping, early access, discount, multiplier', params: MemberParams, response: { 200: PerksView, ...errors() } },
  }, async (request) => ops.memberPerks(db, principalOf(request).programId, request.params.id, await now()));

  app.get('/members/:id/tier/history', {
    schema: {
      tags, summary: 'Every tier change of a member with its reason, newest first', params: MemberParams,
      querystring: Type.Object({ ...CursorQuery }, { additionalProperties: false }), response: { 200: Page(HistoryItem), ...errors(422) },
    },
  }, async (request) => ops.memberHistory(db, principalOf(request).programId, request.params.id, request.query));

  app.post('/members/:id/tier/activity', {
    schema: {
      tags, summary: 'Record qualifying activity (spend, points, orders; negative for refunds) from another system; idempotent by source',
      params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({
        amounts: Type.Record(Type.String({ maxLength: 64 }), SignedAmount, { minProperties: 1, maxProperties: 3, description: 'Signed amount per metric: net_spend (minor units), points_earned, orders' }),
        occurredAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it counts (default now); for a refund, the original order’s time' })),
        source: ReferenceSchema,
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ recorded: Type.Boolean(), changes: Type.Array(ChangeView), tier: Nullable(CurrentTierView) }), ...errors(409, 422) },
    },
  }, async (request, reply) => mutate(request, reply, 201, async (ctx) => {
    const result = await ops.recordActivityForMember(ctx, request.params.id, {
      amounts: request.body.amounts, occurredAt: toDate(request.body.occurredAt) ?? undefined, source: request.body.source,
    });
    return { recorded: result.recorded, changes: result.changes.map(changeView), tier: result.tier };
  }));

  app.post('/members/:id/tier/override', {
    schema: {
      tags, summary: 'Manual override, audited: a floor (never below this tier) or a lock (exactly this tier until a date)',
      params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({
        kind: Type.Union([Type.Literal('floor'), Type.Literal('lock')]), tier: TierCode,
        until: Type.Optional(Nullable(DateTime)), reason: Reason,
      }, { additionalProperties: false }),
      response: { 200: Changed, ...errors(422) },
    },
  }, async (request, reply) => mutate(request, reply, 200, async (ctx) => withState(await ops.setOverride(ctx, {
    memberId: request.params.id, kind: request.body.kind, tier: request.body.tier, until: toDate(request.body.until), reason: request.body.reason,
  }))));

  app.post('/members/:id/tier/override/remove', {
    schema: {
      tags, summary: 'Remove a manual floor and/or lock, audited', params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({ kind: Type.Optional(Type.Union([Type.Literal('floor'), Type.Literal('lock'), Type.Literal('all')])), reason: Reason }, { additionalProperties: false }),
      response: { 200: Changed, ...errors(422) },
    },
  }, async (request, reply) => mutate(request, reply, 200, async (ctx) => withState(await ops.removeOverride(ctx, {
    memberId: request.params.id, kind: request.body.kind ?? 'all', reason: request.body.reason,
  }))));

  app.post('/members/:id/tier/invitation', {
    schema: {
      tags, summary: 'Invite a member into an invitation-only tier, optionally until a date', params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({ tier: TierCode, until: Type.Optional(Nullable(DateTime)), reason: Reason }, { additionalProperties: false }),
      response: { 200: Changed, ...errors(422) },
    },
  }, async (request, reply) => mutate(request, reply, 200, async (ctx) => withState(await ops.invite(ctx, {
    memberId: request.params.id, tier: request.body.tier, until: toDate(request.body.until), reason: request.body.reason,
  }))));

  app.post('/members/:id/tier/invitation/revoke', {
    schema: {
      tags, summary: 'Withdraw a member’s invitation-only tier', params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: Changed, ...errors(422) },
    },
  }, async (request, reply) => mutate(request, reply, 200, async (ctx) => withState(await ops.revokeInvitation(ctx, { memberId: request.params.id, reason: request.body.reason }))));

  app.get('/members/:id/tier/memberships', {
    schema: { tags, summary: 'A member’s paid tier memberships, newest first', params: MemberParams, response: { 200: Type.Object({ data: Type.Array(MembershipView) }), ...errors() } },
  }, async (request) => ops.listMemberMemberships(db, principalOf(request).programId, request.params.id, await now()));

  const MembershipResult = Type.Object({ membership: MembershipView, changes: Type.Array(ChangeView) });
  const membershipResult = (r: { membership: unknown; changes: TierChange[] }) => ({ membership: r.membership, changes: r.changes.map(changeView) });

  app.post('/members/:id/tier/memberships', {
    schema: {
      tags, summary: 'Sell a paid tier membership (one period; buying again while it runs extends it)', params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({
        tier: TierCode, startsAt: Type.Optional(DateTime), autoRenew: Type.Optional(Type.Boolean()), reference: Type.Optional(ReferenceSchema),
      }, { additionalProperties: false }),
      response: { 201: MembershipResult, ...errors(422) },
    },
  }, async (request, reply) => mutate(request, reply, 201, async (ctx) => membershipResult(await ops.purchaseMembership(ctx, {
    memberId: request.params.id, tier: request.body.tier, startsAt: toDate(request.body.startsAt) ?? undefined,
    autoRenew: request.body.autoRenew, reference: request.body.reference,
  }))));

  app.post('/tier-memberships/:id/renew', {
    schema: {
      tags, summary: 'Renew a paid membership for one more period', params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders,
      body: Type.Object({ reference: Type.Optional(ReferenceSchema) }, { additionalProperties: false }),
      response: { 200: MembershipResult, ...errors(409) },
    },
  }, async (request, reply) => mutate(request, reply, 200, async (ctx) => membershipResult(await ops.renewMembership(ctx, {
    membershipId: request.params.id, reference: request.body.reference,
  }))));

  app.post('/tier-memberships/:id/cancel', {
    schema: {
      tags, summary: 'Cancel a paid membership: at the end of the period (default) or immediately', params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders,
      body: Type.Object({ immediately: Type.Optional(Type.Boolean()), reason: Reason }, { additionalProperties: false }),
      response: { 200: MembershipResult, ...errors(409) },
    },
  }, async (request, reply) => mutate(request, reply, 200, async (ctx) => membershipResult(await ops.cancelMembership(ctx, {
    membershipId: request.params.id, immediately: request.body.immediately ?? false, reason: request.body.reason,
  }))));
};

