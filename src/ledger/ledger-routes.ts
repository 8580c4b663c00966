import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { GroupCommitter } from '../db/group-commit.ts';
import { ProblemError } from '../http/error-codes.ts';
import { idempotentGroup, replyIdempotentGrouped } from '../http/idempotent-reply.ts';
import { principalOf } from '../http/principal.ts';
import { Amount, CursorQuery, IdempotencyHeaders, Metadata, Nullable, Page, problems, ReferenceSchema, SignedAmount, Timestamp, Uuid, WalletCode } from '../http/schemas.ts';
import { ledgerHttp } from './ledger-http.ts';
import * as ledger from './ledger-operations.ts';
import * as reads from './ledger-reads.ts';
import { verifyLedger } from './verify-ledger.ts';
import { runDueMaintenance } from './ledger-maintenance.ts';

const Description = Type.String({ maxLength: 500 });

const OperationSchema = Type.Object({
  id: Uuid, kind: Type.String(), wallet: Type.String(), memberId: Uuid, amount: Type.Integer(),
  reversed: Type.Integer(), restored: Type.Integer(), targetOperationId: Nullable(Uuid), reservationId: Nullable(Uuid),
  counterpartMemberId: Nullable(Uuid), reference: Nullable(ReferenceSchema), description: Nullable(Type.String()),
  reason: Nullable(Type.String()), actor: Type.String(), metadata: Metadata, createdAt: Timestamp,
});

const LotSchema = Type.Object({
  id: Type.String(), operationId: Uuid, amount: Type.Integer(), remaining: Type.Integer(), vested: Type.Boolean(),
  vestsAt: Nullable(Timestamp), expiresAt: Nullable(Timestamp), createdAt: Timestamp,
});

const BalanceBrief = Type.Object({ wallet: Type.String(), available: Type.Integer(), pending: Type.Integer(), reserved: Type.Integer() });

const BalanceSchema = Type.Object({
  wallet: Type.String(), unit: Type.String(), available: Type.Integer({ description: 'Spendable now; negative only after a clawback under allow_negative' }),
  pending: Type.Integer({ description: 'Earned, not yet vested (return window)' }), reserved: Type.Integer({ description: 'Held by open checkout reservations' }),
  lifetime: Type.Object({
    earned: Type.Integer(), spent: Type.Integer(), expired: Type.Integer(), reversed: Type.Integer(), restored: Type.Integer(),
    adjustedIn: Type.Integer(), adjustedOut: Type.Integer(), transferredIn: Type.Integer(), transferredOut: Type.Integer(),
  }),
  nextExpirations: Type.Array(Type.Object({ amount: Type.Integer(), expiresAt: Timestamp })),
  lastActivityAt: Nullable(Timestamp),
});

const ReservationSchema = Type.Object({
  id: Uuid, memberId: Uuid, wallet: Type.String(), amount: Type.Integer(), postedAmount: Type.Integer(),
  status: Type.Union(['pending', 'posted', 'voided', 'expired'].map((s) => Type.Literal(s))), expiresAt: Timestamp,
  resolvedAt: Nullable(Timestamp), operationId: Uuid, postOperationId: Nullable(Uuid), reference: Nullable(ReferenceSchema), createdAt: Timestamp,
});

const EntrySchema = Type.Object({
  id: Type.String(), kind: Type.String(), wallet: Type.String(), amount: Type.Integer(),
  from: Type.String({ description: 'Debited account: member:available|pending|reserved or program:issued|redeemed|expired|reversed|adjusted|transfers' }),
  to: Type.String({ description: 'Credited account' }),
  availableDelta: Type.Integer({ description: 'Change of this member’s available balance' }),
  lotId: Nullable(Type.String()), lotDelta: Type.Integer(), operationId: Nullable(Uuid), operationKind: Nullable(Type.String()),
  reference: Nullable(ReferenceSchema), actor: Nullable(Type.String()), description: Nullable(Type.String()), reason: Nullable(Type.String()),
  createdAt: Timestamp,
});

const MemberParams = Type.Object({ id: Uuid });
const WalletField = Type.Optional(WalletCode);
const ledgerErrors = problems(404, 409, 422);

export const ledgerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, clock } = app.deps;

  const { context, inContext, mutate, read } = ledgerHttp(app);

  // Concurrent balance reads of a program share a statement (docs/architecture.md, "Group reads").
  const { readBatches, readMinWhileBusy } = app.deps.config;
  const balanceReads = readBatches === 0 ? undefined : new GroupCommitter<string, reads.SettledBalances>(
    (programId, memberIds) => reads.balancesIfSettled(db, programId, memberIds, clock?.()),
    { maxInFlight: readBatches, maxBatch: 128, minWhileBusy: readMinWhileBusy },
  );

  /** Balances in one statement, shared with concurrent reads, when nothing is due; else settled first, in a transaction. */
  async function currentBalances(request: FastifyRequest, memberId: string) {
    const programId = principalOf(request).programId;
    const quick = balanceReads ? await balanceReads.submit(programId, memberId) : (await reads.balancesIfSettled(db, programId, [memberId], clock?.()))[0]!;
    if (quick instanceof ProblemError) throw quick;
    return quick === 'due' ? read(request, (ctx) => reads.balances(ctx, memberId)) : quick;
  }

  // Concurrent earns share transactions: the hot path of every integration that awards points.
  const earnGroup = idempotentGroup<ledger.EarnInput>(app, 201, async (trx, programId, requests) => ledger.earnMany(await context(trx, programId, 'system'), requests),
    (input) => ({ memberId: input.memberId, walletCode: input.wallet }));

  const date = (value: string | null | undefined) => (value === undefined ? undefined : value === null ? null : new Date(value));

  app.post('/members/:id/earn', {
    schema: {
      tags: ['ledger'], summary: 'Earn points: creates a lot, pending until a date if given (or the wallet’s pending period)',
      params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({
        amount: Amount, wallet: WalletField,
        pendingUntil: Type.Optional(Nullable(Type.String({ format: 'date-time', description: 'Points stay pending until then; null: vested at once; absent: the wallet default' }))),
        expiresAt: Type.Optional(Nullable(Type.String({ format: 'date-time', description: 'Overrides the wallet’s expiry policy for this lot' }))),
        reference: Type.Optional(ReferenceSchema), description: Type.Optional(Description), metadata: Type.Optional(Metadata),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ operation: OperationSchema, lot: LotSchema, balance: BalanceBrief }), ...ledgerErrors },
    },
  }, async (request, reply) => {
    const input: ledger.EarnInput = {
      memberId: request.params.id, wallet: request.body.wallet ?? 'points', amount: request.body.amount,
      pendingUntil: date(request.body.pendingUntil), expiresAt: date(request.body.expiresAt) ?? null,
      reference: request.body.reference, description: request.body.description, metadata: request.body.metadata,
    };
    return replyIdempotentGrouped(request, reply, { status: 201, group: earnGroup, input }, inContext(request, (ctx) => ledger.earn(ctx, input)));
  });

  app.post('/members/:id/spend', {
    schema: {
      tags: ['ledger'], summary: 'Spend available points, soonest-expiring lots first; never below zero',
      params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({ amount: Amount, wallet: WalletField, reference: Type.Optional(ReferenceSchema), description: Type.Optional(Description), metadata: Type.Optional(Metadata) }, { additionalProperties: false }),
      response: { 201: Type.Object({ operation: OperationSchema, lots: Type.Array(Type.Object({ lotId: Type.String(), amount: Type.Integer() })), balance: BalanceBrief }), ...ledgerErrors },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => ledger.spend(ctx, {
    memberId: request.params.id, wallet: request.body.wallet ?? 'points', amount: request.body.amount,
    reference: request.body.reference, description: request.body.description, metadata: request.body.metadata,
  })));

  app.post('/members/:id/reservations', {
    schema: {
      tags: ['ledger'], summary: 'Reserve points for a checkout; post, void, or let it expire after timeoutMs',
      params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({
        amount: Amount, wallet: WalletField,
        timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000, default: 900_000, description: 'Default 15 minutes, at most 7 days' })),
        reference: Type.Optional(ReferenceSchema), description: Type.Optional(Description), metadata: Type.Optional(Metadata),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ reservation: ReservationSchema, balance: BalanceBrief }), ...ledgerErrors },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => ledger.reserve(ctx, {
    memberId: request.params.id, wallet: request.body.wallet ?? 'points', amount: request.body.amount, timeoutMs: request.body.timeoutMs ?? 900_000,
    reference: request.body.reference, description: request.body.description, metadata: request.body.metadata,
  })));

  app.get('/reservations/:id', {
    schema: { tags: ['ledger'], summary: 'Get a reservation', params: Type.Object({ id: Uuid }), response: { 200: ReservationSchema, ...problems(404) } },
  }, async (request) => read(request, (ctx) => ledger.getReservation(ctx, request.params.id)));

  app.post('/reservations/:id/post', {
    schema: {
      tags: ['ledger'], summary: 'Post a reservation (the order was paid): all of it, or less with the rest released',
      params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders,
      body: Nullable(Type.Object({ amount: Type.Optional(Amount), reference: Type.Optional(ReferenceSchema) }, { additionalProperties: false })),
      response: { 200: Type.Object({ operation: OperationSchema, reservation: ReservationSchema, balance: BalanceBrief }), ...ledgerErrors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => ledger.postReservation(ctx, {
    reservationId: request.params.id, amount: request.body?.amount, reference: request.body?.reference,
  })));

  app.post('/reservations/:id/void', {
    schema: {
      tags: ['ledger'], summary: 'Void a reservation (checkout abandoned or order cancelled): points return to their lots',
      params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders,
      body: Nullable(Type.Object({}, { additionalProperties: false })),
      response: { 200: Type.Object({ operation: OperationSchema, reservation: ReservationSchema, balance: BalanceBrief }), ...ledgerErrors },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => ledger.voidReservation(ctx, { reservationId: request.params.id })));

  app.post('/operations/:id/reverse', {
    schema: {
      tags: ['ledger'], summary: 'Reverse an earn (refund), fully or partly, also while pending',
      description: 'Takes from the earn’s lot; what of that lot already expired is not taken again; what was spent comes from the member’s other points, then per the program’s reversal policy (negative balance, or forgive the rest). See docs/ledger.md.',
      params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders,
      body: Nullable(Type.Object({ amount: Type.Optional(Amount), reference: Type.Optional(ReferenceSchema), description: Type.Optional(Description) }, { additionalProperties: false })),
      response: {
        201: Type.Object({
          operation: OperationSchema,
          alreadyExpired: Type.Integer({ description: 'Not taken: these points of the earn had already expired' }),
          forgiven: Type.Integer({ description: 'Not taken under the take_remaining policy' }),
          balance: BalanceBrief,
        }),
        ...ledgerErrors,
      },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => ledger.reverse(ctx, {
    operationId: request.params.id, amount: request.body?.amount, reference: request.body?.reference, description: request.body?.description,
  })));

  app.post('/operations/:id/restore', {
    schema: {
      tags: ['ledger'], summary: 'Restore a spend or posted reservation (refund of an order paid with points) into the lots it consumed',
      params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders,
      body: Nullable(Type.Object({ amount: Type.Optional(Amount), reference: Type.Optional(ReferenceSchema), description: Type.Optional(Description) }, { additionalProperties: false })),
      response: { 201: Type.Object({ operation: OperationSchema, balance: BalanceBrief }), ...ledgerErrors },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => ledger.restore(ctx, {
    operationId: request.params.id, amount: request.body?.amount, reference: request.body?.reference, description: request.body?.description,
  })));

  app.get('/operations/:id', {
    schema: {
      tags: ['ledger'], summary: 'A ledger operation with its entries', params: Type.Object({ id: Uuid }),
      response: { 200: Type.Intersect([OperationSchema, Type.Object({ entries: Type.Array(Type.Object({ id: Type.String(), kind: Type.String(), amount: Type.Integer(), lotId: Nullable(Type.String()), createdAt: Timestamp })) })]), ...problems(404) },
    },
  }, async (request) => read(request, (ctx) => ledger.getOperation(ctx, request.params.id)));

  app.post('/members/:id/adjustments', {
    schema: {
      tags: ['ledger'], summary: 'Adjust a balance by hand (positive adds a lot, negative removes points); reason required, audited',
      params: MemberParams, headers: IdempotencyHeaders,
      body: Type.Object({
        amount: SignedAmount, wallet: WalletField, reason: Type.String({ minLength: 3, maxLength: 500 }),
        expiresAt: Type.Optional(Nullable(Type.String({ format: 'date-time' }))), reference: Type.Optional(ReferenceSchema),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ operation: OperationSchema, balance: BalanceBrief }), ...ledgerErrors },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => ledger.adjust(ctx, {
    memberId: request.params.id, wallet: request.body.wallet ?? 'points', amount: request.body.amount, reason: request.body.reason,
    expiresAt: date(request.body.expiresAt) ?? null, reference: request.body.reference,
  })));

  app.post('/transfers', {
    schema: {
      tags: ['ledger'], summary: 'Move points between two members atomically; the points keep their expiry',
      headers: IdempotencyHeaders,
      body: Type.Object({
        fromMemberId: Uuid, toMemberId: Uuid, amount: Amount, wallet: WalletField, description: Type.Optional(Description), reference: Type.Optional(ReferenceSchema),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ operation: OperationSchema, from: BalanceBrief, to: BalanceBrief }), ...ledgerErrors },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => ledger.transfer(ctx, { ...request.body, wallet: request.body.wallet ?? 'points' })));

  app.get('/members/:id/balances', {
    schema: { tags: ['ledger'], summary: 'Balances of a member in every wallet', params: MemberParams, response: { 200: Type.Object({ data: Type.Array(BalanceSchema) }), ...problems(404) } },
  }, async (request) => ({ data: await currentBalances(request, request.params.id) }));

  app.get('/members/:id/balances/:wallet', {
    schema: {
      tags: ['ledger'], summary: 'A member’s balance in one wallet: available, pending, reserved, lifetime totals, next expirations',
      params: Type.Object({ id: Uuid, wallet: WalletCode }), response: { 200: BalanceSchema, ...problems(404) },
    },
  }, async (request) => reads.pickWallet(await currentBalances(request, request.params.id), request.params.wallet));

  app.get('/members/:id/entries', {
    schema: {
      tags: ['ledger'], summary: 'A member’s history: entries newest first, cursor-paginated',
      params: MemberParams, querystring: Type.Object({ wallet: WalletField, ...CursorQuery }, { additionalProperties: false }),
      response: { 200: Page(EntrySchema), ...problems(404) },
    },
  }, async (request) => read(request, (ctx) => reads.history(ctx, request.params.id, request.query)));

  app.get('/members/:id/lots', {
    schema: {
      tags: ['ledger'], summary: 'A member’s lots in a wallet, soonest-expiring first',
      params: MemberParams, querystring: Type.Object({ wallet: WalletField, includeEmpty: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(LotSchema) }), ...problems(404) },
    },
  }, async (request) => ({ data: await read(request, (ctx) => reads.lots(ctx, request.params.id, request.query.wallet ?? 'points', request.query.includeEmpty ?? false)) }));

  app.get('/ledger/verify', {
    schema: {
      tags: ['ledger'], summary: 'Check every ledger invariant of this program and report each discrepancy',
      response: { 200: Type.Object({ ok: Type.Boolean(), checkedAt: Timestamp, checks: Type.Array(Type.Object({ name: Type.String(), description: Type.String(), ok: Type.Boolean(), discrepancies: Type.Array(Metadata) })), totals: Metadata }), ...problems() },
    },
  }, async (request) => verifyLedger(db, principalOf(request).programId));

  app.post('/ledger/maintenance', {
    schema: {
      tags: ['ledger'], summary: 'Vest, expire and time out everything due in this program now (the scheduled job does the same)',
      body: Nullable(Type.Object({ batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) }, { additionalProperties: false })),
      response: { 200: Type.Object({ members: Type.Integer(), lotsExpired: Type.Integer(), pointsExpired: Type.Integer() }), ...problems() },
    },
  }, async (request) => runDueMaintenance(db, { programId: principalOf(request).programId, batchSize: request.body?.batchSize, clock }));
};
