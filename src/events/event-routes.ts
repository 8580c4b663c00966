import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemError } from '../http/error-codes.ts';
import { principalOf } from '../http/principal.ts';
import { Nullable, problems, Uuid } from '../http/schemas.ts';
import { envelopeOf, findEvent, listEvents, parseEventId } from './event-repository.ts';
import { EventEnvelopeSchema, eventTypes } from './event-types.ts';

const EventTypeSchema = Type.Object({
  type: Type.String(), summary: Type.String(), source: Type.String(), perMember: Type.Boolean(),
  data: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the envelope’s data' }),
});

export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['events'];

  app.get('/event-types', {
    schema: {
      tags, summary: 'Every event type with the JSON Schema of its data (see docs/events.md)',
      response: { 200: Type.Object({ envelope: Type.Record(Type.String(), Type.Unknown()), data: Type.Array(EventTypeSchema) }), ...problems() },
    },
  }, async () => ({
    envelope: JSON.parse(JSON.stringify(EventEnvelopeSchema)) as Record<string, unknown>,
    data: eventTypes().map((t) => ({ ...t, data: JSON.parse(JSON.stringify(t.data)) as Record<string, unknown> })),
  }));

  app.get('/events', {
    schema: {
      tags, summary: 'The program’s events, oldest first (the outbox); poll with after=<last id> as an alternative to webhooks',
      querystring: Type.Object({
        after: Type.Optional(Type.String({ pattern: '^evt_[0-9]{1,16}$', description: 'Return events after this id' })),
        type: Type.Optional(Type.String({ maxLength: 100 })), memberId: Type.Optional(Uuid),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(EventEnvelopeSchema), nextCursor: Nullable(Type.String()) }), ...problems() },
    },
  }, async (request) => {
    const { programId } = principalOf(request);
    const limit = request.query.limit ?? 100;
    const after = request.query.after === undefined ? undefined : parseEventId(request.query.after);
    if (request.query.after !== undefined && after === undefined) throw new ProblemError('validation_failed', 'after is not an event id', { field: 'after' });
    const rows = await listEvents(db, programId, limit, after, request.query.type, request.query.memberId);
    const data = rows.map(envelopeOf);
    return { data, nextCursor: rows.length === limit ? data[data.length - 1]!.id : null };
  });

  app.get('/events/:id', {
    schema: {
      tags, summary: 'One event', params: Type.Object({ id: Type.String({ maxLength: 32 }) }),
      response: { 200: EventEnvelopeSchema, ...problems(404) },
    },
  }, async (request) => {
    const id = parseEventId(request.params.id);
    const row = id === undefined ? undefined : await findEvent(db, principalOf(request).programId, id);
    if (!row) throw new ProblemError('event_not_found', `no event ${request.params.id} in this program`);
    return envelopeOf(row);
  });
};
