import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../http/principal.ts';
import { Amount, CursorQuery, IdempotencyHeaders, Nullable, Page, problems, Uuid, WalletCode } from '../http/schemas.ts';
import * as catalog from './reward-catalog-operations.ts';
import { memberCatalog } from './member-catalog.ts';
import * as redemptions from './redemption-operations.ts';
import * as vouchers from './voucher-operations.ts';
import * as payments from './points-payment-operations.ts';
import { runRewardsMaintenance } from './reward-jobs.ts';
import { issueMemberThresholdNotes } from './threshold-notes.ts';
import { ledgerHttp } from '../ledger/ledger-http.ts';
import {
  CartSchema, CreateRewardBody, DiscountSchema, DonationTotalsSchema, MemberCatalogSchema, OrderId, PatchRewardBody, PointsPaymentSchema,
  PointsPaymentSettingsSchema, RedeemResponse, RedemptionSchema, RewardKindSchema, RewardSchema, RewardStatusSchema, VisibilitySchema,
  VoucherCode, VoucherSchema, VoucherStatusSchema,
} from './reward-schemas.ts';

const IdParams = Type.Object({ id: Uuid });
const Reason = Type.Optional(Type.String({ minLength: 1, maxLength: 500 }));
const errors = problems(404, 409, 422);

/** Catalog, redemption, vouchers and checkout (voucher codes and pay with points). */
export const rewardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { mutate, read } = ledgerHttp(app);
  const { db, clock } = app.deps;

  // ------------------------------------------------------------ catalog

  app.post('/rewards', {
    schema: { tags: ['rewards'], summary: 'Add a reward to the catalog', body: CreateRewardBody, response: { 201: RewardSchema, ...problems(409, 422) } },
  }, async (request, reply) => reply.code(201).send(await read(request, (ctx) => catalog.createReward(ctx, request.body))));

  app.get('/rewards', {
    schema: {
      tags: ['rewards'], summary: 'The catalog, oldest first, cursor-paginated (all statuses; filter as needed)',
      querystring: Type.Object({ status: Type.Optional(RewardStatusSchema), kind: Type.Optional(RewardKindSchema), visibility: Type.Optional(VisibilitySchema), ...CursorQuery }, { additionalProperties: false }),
      response: { 200: Page(RewardSchema), ...problems() },
    },
  }, async (request) => read(request, (ctx) => catalog.listRewards(ctx, request.query)));

  app.get('/rewards/:id', {
    schema: { tags: ['rewards'], summary: 'A reward', params: IdParams, response: { 200: RewardSchema, ...problems(404) } },
  }, async (request) => read(request, (ctx) => catalog.getReward(ctx, request.params.id)));

  app.patch('/rewards/:id', {
    schema: {
      tags: ['rewards'], summary: 'Change a reward (kind is fixed); issued vouchers keep the terms they were issued with',
      params: IdParams, body: PatchRewardBody, response: { 200: RewardSchema, ...errors },
    },
  }, async (request) => read(request, (ctx) => catalog.updateReward(ctx, request.params.id, request.body)));

  app.post('/rewards/:id/codes', {
    schema: {
      tags: ['rewards'], summary: 'Import codes created in the shop’s platform into the reward’s pool (duplicates are skipped)',
      params: IdParams,
      body: Type.Object({ codes: Type.Array(Type.String({ minLength: 4, maxLength: 64, pattern: '^\\s*\\S+\\s*$' }), { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ received: Type.Integer(), imported: Type.Integer(), skipped: Type.Integer(), pool: Type.Object({ available: Type.Integer(), assigned: Type.Integer() }) }), ...errors },
    },
  }, async (request) => read(request, (ctx) => catalog.importPoolCodes(ctx, request.params.id, request.body.codes)));

  app.get('/donations', {
    schema: { tags: ['rewards'], summary: 'Running totals of donated points per cause', response: { 200: DonationTotalsSchema, ...problems() } },
  }, async (request) => ({ data: await read(request, (ctx) => catalog.donationTotals(ctx)) }));

  app.post('/rewards/maintenance', {
    schema: {
      tags: ['rewards'], summary: 'Expire due vouchers and issue due automatic notes in this program now (the scheduled job does the same)',
      response: { 200: Type.Object({ vouchersExpired: Type.Integer(), pointsRefunded: Type.Integer(), members: Type.Integer(), notesIssued: Type.Integer() }), ...problems() },
    },
  }, async (request) => runRewardsMaintenance(db, { programId: principalOf(request).programId, clock }));

  // ------------------------------------------------------------ members

  app.get('/members/:id/rewards', {
    schema: {
      tags: ['rewards'], summary: 'What this member can redeem now, and for the rest, why not and how many points are missing',
      params: IdParams, querystring: Type.Object({ locale: Type.Optional(Type.String({ maxLength: 35 })) }, { additionalProperties: false }),
      response: { 200: MemberCatalogSchema, ...problems(404) },
    },
  }, async (request) => read(request, (ctx) => memberCatalog(ctx, request.params.id, { locale: request.query.locale })));

  app.post('/members/:id/redemptions', {
    schema: {
      tags: ['rewards'], summary: 'Redeem a reward: points, stock and voucher in one transaction',
      params: IdParams, headers: IdempotencyHeaders,
      body: Type.Object({
        rewardId: Uuid,
        points: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Donations: points to give, a multiple of the cost' })),
        subscriptionId: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Apply the voucher to this subscription’s next renewal' })),
        note: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Custom rewards: the member’s request' })),
      }, { additionalProperties: false }),
      response: { 201: RedeemResponse, ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => redemptions.redeem(ctx, { memberId: request.params.id, ...request.body })));

  app.get('/members/:id/redemptions', {
    schema: {
      tags: ['rewards'], summary: 'A member’s redemptions, newest first', params: IdParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(RedemptionSchema) }), ...problems(404) },
    },
  }, async (request) => ({ data: await read(request, (ctx) => redemptions.memberRedemptions(ctx, request.params.id, request.query.limit ?? 50)) }));

  app.get('/members/:id/vouchers', {
    schema: {
      tags: ['rewards'], summary: 'A member’s vouchers, newest first', params: IdParams,
      querystring: Type.Object({ status: Type.Optional(VoucherStatusSchema), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(VoucherSchema) }), ...problems(404) },
    },
  }, async (request) => ({ data: await read(request, (ctx) => vouchers.memberVouchers(ctx, request.params.id, request.query.status, request.query.limit ?? 50)) }));

  app.post('/members/:id/threshold-notes', {
    schema: {
      tags: ['rewards'], summary: 'Issue the automatic gift notes the member’s balance has reached (also done by the scheduled job)',
      params: IdParams, headers: IdempotencyHeaders,
      response: { 200: Type.Object({ issued: Type.Array(RedeemResponse) }), ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => issueMemberThresholdNotes(ctx, request.params.id)));

  app.get('/redemptions/:id', {
    schema: { tags: ['rewards'], summary: 'A redemption', params: IdParams, response: { 200: RedemptionSchema, ...problems(404) } },
  }, async (request) => read(request, (ctx) => redemptions.redemptionWithVoucher(ctx, request.params.id)));

  app.post('/redemptions/:id/cancel', {
    schema: {
      tags: ['rewards'], summary: 'Cancel an unused voucher or an unfulfilled custom request; points back per the reward, stock back',
      params: IdParams, headers: IdempotencyHeaders, body: Nullable(Type.Object({ reason: Reason }, { additionalProperties: false })),
      response: { 200: RedemptionSchema, ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => redemptions.cancelRedemption(ctx, request.params.id, request.body?.reason)));

  app.post('/redemptions/:id/fulfil', {
    schema: {
      tags: ['rewards'], summary: 'Mark a custom reward as done by the merchant',
      params: IdParams, headers: IdempotencyHeaders, body: Nullable(Type.Object({ note: Reason }, { additionalProperties: false })),
      response: { 200: RedemptionSchema, ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => redemptions.fulfilRedemption(ctx, request.params.id, request.body?.note)));

  // ------------------------------------------------------------ vouchers

  app.get('/vouchers/:id', {
    schema: { tags: ['rewards'], summary: 'A voucher', params: IdParams, response: { 200: VoucherSchema, ...problems(404) } },
  }, async (request) => read(request, (ctx) => vouchers.getVoucher(ctx, { id: request.params.id })));

  app.get('/vouchers/by-code/:code', {
    schema: { tags: ['rewards'], summary: 'A voucher by its code (case-insensitive)', params: Type.Object({ code: VoucherCode }), response: { 200: VoucherSchema, ...problems(404) } },
  }, async (request) => read(request, (ctx) => vouchers.getVoucher(ctx, { code: request.params.code })));

  app.post('/vouchers/:id/cancel', {
    schema: {
      tags: ['rewards'], summary: 'Cancel an unused voucher (its redemption); points back if the reward refunds on cancel',
      params: IdParams, headers: IdempotencyHeaders, body: Nullable(Type.Object({ reason: Reason }, { additionalProperties: false })),
      response: { 200: RedemptionSchema, ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => vouchers.cancelVoucher(ctx, request.params.id, request.body?.reason)));

  // ------------------------------------------------------------ checkout: vouchers

  const VoucherUseBody = {
    code: VoucherCode,
    memberId: Type.Optional(Uuid),
    cart: Type.Optional(CartSchema),
  };

  app.post('/checkout/vouchers/validate', {
    schema: {
      tags: ['checkout'], summary: 'Is this code good for this cart, and what does it take off? Changes nothing',
      body: Type.Object({ ...VoucherUseBody, orderId: Type.Optional(OrderId) }, { additionalProperties: false }),
      response: { 200: Type.Object({ valid: Type.Literal(true), voucher: VoucherSchema, discount: Nullable(DiscountSchema) }), ...errors },
    },
  }, async (request) => read(request, (ctx) => vouchers.validateVoucher(ctx, request.body)));

  app.post('/checkout/vouchers/consume', {
    schema: {
      tags: ['checkout'], summary: 'Use the voucher for an order (the same order again: same answer)',
      headers: IdempotencyHeaders, body: Type.Object({ ...VoucherUseBody, orderId: OrderId }, { additionalProperties: false }),
      response: { 200: Type.Object({ voucher: VoucherSchema, discountMinor: Nullable(Type.Integer()), alreadyConsumed: Type.Boolean() }), ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => vouchers.consumeVoucher(ctx, request.body)));

  app.post('/checkout/vouchers/release', {
    schema: {
      tags: ['checkout'], summary: 'The order was cancelled: its vouchers (or the one given) become usable again, or expire if their time is up',
      headers: IdempotencyHeaders, body: Type.Object({ orderId: OrderId, code: Type.Optional(VoucherCode) }, { additionalProperties: false }),
      response: { 200: Type.Object({ orderId: Type.String(), released: Type.Array(Type.Object({ voucher: VoucherSchema, refundedPoints: Type.Integer() })) }), ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => vouchers.releaseVouchers(ctx, request.body)));

  // ------------------------------------------------------------ checkout: pay with points

  app.get('/points-payments/settings', {
    schema: { tags: ['checkout'], summary: 'Pay-with-points settings of every wallet that has them', response: { 200: Type.Object({ data: Type.Array(PointsPaymentSettingsSchema) }), ...problems() } },
  }, async (request) => ({ data: await read(request, (ctx) => payments.listSettings(ctx)) }));

  app.put('/points-payments/settings/:wallet', {
    schema: {
      tags: ['checkout'], summary: 'Set how a wallet’s points pay at checkout: rate, minimum, maximum share of the order, hold timeout',
      params: Type.Object({ wallet: WalletCode }),
      body: Type.Object({
        enabled: Type.Optional(Type.Boolean()),
        ratePoints: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'ratePoints points pay rateAmountMinor (e.g. 100 points = 100 cents)' }),
        rateAmountMinor: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
        minimumPoints: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
        maxSharePercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Most of the order total points may pay, 1–100 %' })),
        timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000, description: 'Hold before an unpaid reservation expires; default 15 minutes' })),
      }, { additionalProperties: false }),
      response: { 200: PointsPaymentSettingsSchema, ...problems(422) },
    },
  }, async (request) => read(request, (ctx) => payments.putSettings(ctx, request.params.wallet, request.body)));

  const walletOf = (w: string | undefined) => w ?? 'points';

  app.post('/checkout/points-payments/quote', {
    schema: {
      tags: ['checkout'], summary: 'How much of this order the member can pay with points now',
      body: Type.Object({ memberId: Uuid, orderTotalMinor: Amount, wallet: Type.Optional(WalletCode) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          wallet: Type.String(), availablePoints: Type.Integer(), orderTotalMinor: Type.Integer(), maxAmountMinor: Type.Integer(), maxPoints: Type.Integer(),
          minimumPoints: Type.Integer(), eligible: Type.Boolean(), rate: Type.Object({ points: Type.Integer(), amountMinor: Type.Integer() }), maxSharePercent: Type.Integer(),
        }),
        ...errors,
      },
    },
  }, async (request) => read(request, (ctx) => payments.quotePointsPayment(ctx, { ...request.body, wallet: walletOf(request.body.wallet) })));

  app.post('/checkout/points-payments', {
    schema: {
      tags: ['checkout'], summary: 'Reserve points to pay part of an order (amountMinor, or points, or the most allowed)',
      headers: IdempotencyHeaders,
      body: Type.Object({
        memberId: Uuid, orderId: OrderId, orderTotalMinor: Amount, wallet: Type.Optional(WalletCode),
        amountMinor: Type.Optional(Amount), points: Type.Optional(Amount),
        timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000 })),
      }, { additionalProperties: false }),
      response: { 201: PointsPaymentSchema, ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => payments.createPointsPayment(ctx, { ...request.body, wallet: walletOf(request.body.wallet) })));

  app.get('/checkout/points-payments', {
    schema: {
      tags: ['checkout'], summary: 'The points payments of an order', querystring: Type.Object({ orderId: OrderId }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(PointsPaymentSchema) }), ...problems() },
    },
  }, async (request) => ({ data: await read(request, (ctx) => payments.pointsPaymentsOfOrder(ctx, request.query.orderId)) }));

  app.get('/checkout/points-payments/:id', {
    schema: { tags: ['checkout'], summary: 'A points payment', params: IdParams, response: { 200: PointsPaymentSchema, ...problems(404) } },
  }, async (request) => read(request, (ctx) => payments.getPointsPayment(ctx, request.params.id)));

  app.post('/checkout/points-payments/:id/capture', {
    schema: {
      tags: ['checkout'], summary: 'The order was paid: spend the reserved points (or fewer, for a smaller final amount)',
      params: IdParams, headers: IdempotencyHeaders,
      body: Nullable(Type.Object({ amountMinor: Type.Optional(Amount), orderTotalMinor: Type.Optional(Amount) }, { additionalProperties: false })),
      response: { 200: PointsPaymentSchema, ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => payments.capturePointsPayment(ctx, { paymentId: request.params.id }, request.body ?? {})));

  app.post('/checkout/points-payments/:id/cancel', {
    schema: {
      tags: ['checkout'], summary: 'Checkout abandoned or order cancelled before payment: the points go back',
      params: IdParams, headers: IdempotencyHeaders, response: { 200: PointsPaymentSchema, ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => payments.cancelPointsPayment(ctx, { paymentId: request.params.id })));

  app.post('/checkout/points-payments/:id/refund', {
    schema: {
      tags: ['checkout'], summary: 'The paid order was (partly) refunded: points come back in proportion to the refunded share of the order',
      params: IdParams, headers: IdempotencyHeaders,
      body: Type.Object({ refundMinor: Amount }, { additionalProperties: false }),
      response: { 200: Type.Object({ payment: PointsPaymentSchema, restoredPoints: Type.Integer() }), ...errors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => payments.refundPointsPayment(ctx, { paymentId: request.params.id }, request.body)));
};

