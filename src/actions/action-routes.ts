import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CursorQuery, IdempotencyHeaders, Metadata, Nullable, Page, problems, ReferenceSchema, Timestamp, Uuid } from '../http/schemas.ts';
import { ledgerHttp } from '../ledger/ledger-http.ts';
import { BreakdownItemSchema, SkippedSchema } from '../rules/rule-schemas.ts';
import * as ops from './action-operations.ts';

const ActionType = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'Action type defined by the program’s rules: sign_up, profile_completed, birthday, review, social_follow, survey, partner_activity…' });

const ActionSchema = Type.Object({
  id: Uuid, memberId: Uuid, type: Type.String(), quantity: Type.Integer(), occurredAt: Timestamp, reference: Nullable(ReferenceSchema),
  attributes: Metadata, points: Type.Record(Type.String(), Type.Integer()),
  breakdown: Type.Array(BreakdownItemSchema), notApplied: Type.Array(SkippedSchema),
  operations: Type.Array(Type.Object({ operationId: Uuid, wallet: Type.String(), amount: Type.Integer(), reversed: Type.Integer(), pending: Type.Boolean(), vestsAt: Nullable(Timestamp) })),
  createdAt: Timestamp,
});

export const actionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { mutate, read } = ledgerHttp(app);

  app.post('/members/:id/actions', {
    schema: {
      tags: ['actions'], summary: 'Record an action (review, survey, social follow, partner activity with a quantity…) and award its points',
      description: 'Idempotency-Key required. Frequency limits and caps of the action rules apply; a reference (e.g. the review id) is rewarded once per member and type (a repeat answers 200 with duplicate: true).',
      params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders,
      body: Type.Object({
        type: ActionType,
        quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'Units for per-unit rules (e.g. metres walked); default 1' })),
        occurredAt: Type.Optional(Type.String({ format: 'date-time', description: 'Default now; the rules in force then apply' })),
        reference: Type.Optional(ReferenceSchema),
        attributes: Type.Optional(Metadata),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ duplicate: Type.Boolean(), action: ActionSchema }), 201: Type.Object({ duplicate: Type.Boolean(), action: ActionSchema }), ...problems(404, 409, 422) },
    },
  }, async (request, reply) => mutate(request, reply, (body) => ((body as { duplicate: boolean }).duplicate ? 200 : 201), (ctx) => ops.recordAction(ctx, { memberId: request.params.id, ...request.body })));

  app.get('/members/:id/actions', {
    schema: {
      tags: ['actions'], summary: 'A member’s recorded actions, newest first', params: Type.Object({ id: Uuid }),
      querystring: Type.Object({ type: Type.Optional(ActionType), ...CursorQuery }, { additionalProperties: false }),
      response: { 200: Page(ActionSchema), ...problems(404) },
    },
  }, async (request) => read(request, (ctx) => ops.listActions(ctx, request.params.id, request.query)));
};
