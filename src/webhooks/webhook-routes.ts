import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EventEnvelopeSchema } from '../events/event-types.ts';
import { principalOf } from '../http/principal.ts';
import { CursorQuery, IdempotencyHeaders, Nullable, Page, problems, Timestamp, Uuid } from '../http/schemas.ts';
import { idempotentMutation } from './idempotent-mutation.ts';
import * as ops from './webhook-operations.ts';

const EventTypeList = Type.Array(Type.String({ minLength: 1, maxLength: 100, description: 'An event type, "prefix.*" or "*"' }), { minItems: 1, maxItems: 100 });
const Url = Type.String({ minLength: 10, maxLength: 2048, description: 'Where deliveries are POSTed; only this URL is requested (redirects are not followed)' });
const Secret = Type.String({ minLength: 38, maxLength: 100, description: 'Optional own secret: "whsec_" + base64 of 24–64 random bytes' });
const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]);

const EndpointSchema = Type.Object({
  id: Uuid, url: Type.String(), description: Nullable(Type.String()), eventTypes: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]),
  disabledReason: Nullable(Type.String()), disabledAt: Nullable(Timestamp),
  health: Type.Object({
    consecutiveFailures: Type.Integer(), failingSince: Nullable(Timestamp), lastSuccessAt: Nullable(Timestamp),
    lastFailureAt: Nullable(Timestamp), pendingDeliveries: Type.Integer(),
  }),
  previousSecretExpiresAt: Nullable(Timestamp),
  createdAt: Timestamp, updatedAt: Timestamp,
});

const AttemptSchema = Type.Object({
  attempt: Type.Integer(), trigger: Type.String(), startedAt: Timestamp, latencyMs: Type.Integer(), statusCode: Nullable(Type.Integer()),
  outcome: Type.String(), error: Nullable(Type.String()), responseBody: Nullable(Type.String()),
});

const DeliverySchema = Type.Object({
  id: Type.String(), endpointId: Uuid, eventId: Type.String(), eventType: Type.String(), memberId: Nullable(Uuid), status: DeliveryStatus,
  attempts: Type.Integer(), nextAttemptAt: Nullable(Timestamp), lastAttemptAt: Nullable(Timestamp), lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()), completedAt: Nullable(Timestamp), createdAt: Timestamp, attemptLog: Type.Array(AttemptSchema),
});

const EndpointParams = Type.Object({ id: Uuid });
const DeliveryParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,16}$' }) });

export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app.deps;
  const tags = ['webhooks'];

  app.post('/webhook-endpoints', {
    schema: {
      tags, summary: 'Add a webhook endpoint subscribed to event types; the response shows its signing secret',
      headers: IdempotencyHeaders,
      body: Type.Object({
        url: Url, eventTypes: EventTypeList, description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
        status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])), secret: Type.Optional(Secret),
      }, { additionalProperties: false }),
      response: { 201: Type.Intersect([EndpointSchema, Type.Object({ secret: Type.String() })]), ...problems(422) },
    },
  }, async (request, reply) => idempotentMutation(db, config.idempotencyWaitMs, request, reply, 201, (trx, p) => ops.createEndpoint(trx, p.programId, p.actor, request.body)));

  app.get('/webhook-endpoints', {
    schema: { tags, summary: 'The program’s webhook endpoints with their health', response: { 200: Type.Object({ data: Type.Array(EndpointSchema) }), ...problems() } },
  }, async (request) => ({ data: await ops.listEndpointViews(db, principalOf(request).programId) }));

  app.get('/webhook-endpoints/:id', {
    schema: { tags, summary: 'A webhook endpoint: status (disabled when it kept failing, with the reason) and health', params: EndpointParams, response: { 200: EndpointSchema, ...problems(404) } },
  }, async (request) => ops.getEndpoint(db, principalOf(request).programId, request.params.id));

  app.patch('/webhook-endpoints/:id', {
    schema: {
      tags, summary: 'Change URL, event types or description; enable a disabled endpoint (its pending deliveries resume in order) or disable it',
      params: EndpointParams,
      body: Type.Object({
        url: Type.Optional(Url), eventTypes: Type.Optional(EventTypeList), description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
        status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: EndpointSchema, ...problems(404, 422) },
    },
  }, async (request, reply) => idempotentMutation(db, config.idempotencyWaitMs, request, reply, 200, (trx, p) => ops.updateEndpoint(trx, p.programId, p.actor, request.params.id, request.body)));

  app.delete('/webhook-endpoints/:id', {
    schema: { tags, summary: 'Delete an endpoint; its pending deliveries are cancelled', params: EndpointParams, response: { 204: Type.Null(), ...problems(404) } },
  }, async (request, reply) => {
    await idempotentMutation(db, config.idempotencyWaitMs, request, reply, 204, async (trx, p) => {
      await ops.deleteEndpoint(trx, p.programId, p.actor, request.params.id);
      return null;
    });
    return reply;
  });

  app.get('/webhook-endpoints/:id/secret', {
    schema: {
      tags, summary: 'The signing secret (and the previous one while its rotation grace period lasts)', params: EndpointParams,
      response: { 200: Type.Object({ secret: Type.String(), previousSecret: Nullable(Type.String()), previousSecretExpiresAt: Nullable(Timestamp) }), ...problems(404) },
    },
  }, async (request) => ops.getEndpointSecret(db, principalOf(request).programId, request.params.id));

  app.post('/webhook-endpoints/:id/rotate-secret', {
    schema: {
      tags, summary: 'Rotate the signing secret: both secrets sign (two signatures) until the grace period ends',
      params: EndpointParams, headers: IdempotencyHeaders,
      body: Nullable(Type.Object({
        graceMs: Type.Optional(Type.Integer({ minimum: 0, maximum: ops.MAX_ROTATION_GRACE_MS, description: 'Default 24 h; 0 drops the old secret at once' })),
        secret: Type.Optional(Secret),
      }, { additionalProperties: false })),
      response: { 200: Type.Object({ secret: Type.String(), previousSecretExpiresAt: Nullable(Timestamp) }), ...problems(404, 422) },
    },
  }, async (request, reply) => idempotentMutation(db, config.idempotencyWaitMs, request, reply, 200, (trx, p) => ops.rotateSecret(trx, p.programId, p.actor, request.params.id, request.body ?? {})));

  app.post('/webhook-endpoints/:id/recover', {
    schema: {
      tags, summary: 'Send again, in order, every delivery to this endpoint given up since a time',
      params: EndpointParams, headers: IdempotencyHeaders,
      body: Type.Object({ since: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ requeued: Type.Integer() }), ...problems(404) },
    },
  }, async (request, reply) => idempotentMutation(db, config.idempotencyWaitMs, request, reply, 200, (trx, p) => ops.recoverFailed(trx, p.programId, p.actor, request.params.id, new Date(request.body.since))));

  app.get('/webhook-deliveries', {
    schema: {
      tags, summary: 'The delivery log, newest first: status, attempts with response code and latency',
      querystring: Type.Object({
        endpointId: Type.Optional(Uuid), status: Type.Optional(DeliveryStatus), eventType: Type.Optional(Type.String({ maxLength: 100 })),
        memberId: Type.Optional(Uuid), ...CursorQuery,
      }, { additionalProperties: false }),
      response: { 200: Page(DeliverySchema), ...problems(404) },
    },
  }, async (request) => ops.listDeliveryViews(db, principalOf(request).programId, request.query));

  app.get('/webhook-deliveries/:id', {
    schema: {
      tags, summary: 'One delivery with every attempt and the event it carries', params: DeliveryParams,
      response: { 200: Type.Intersect([DeliverySchema, Type.Object({ event: EventEnvelopeSchema })]), ...problems(404) },
    },
  }, async (request) => ops.getDelivery(db, principalOf(request).programId, request.params.id));

  app.post('/webhook-deliveries/:id/redeliver', {
    schema: {
      tags, summary: 'Send a delivery again now (same webhook-id), with a fresh retry schedule',
      params: DeliveryParams, headers: IdempotencyHeaders, body: Nullable(Type.Object({}, { additionalProperties: false })),
      response: { 202: DeliverySchema, ...problems(404) },
    },
  }, async (request, reply) => idempotentMutation(db, config.idempotencyWaitMs, request, reply, 202, (trx, p) => ops.redeliver(trx, p.programId, p.actor, request.params.id)));
};
