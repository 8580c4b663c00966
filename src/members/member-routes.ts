import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { replyIdempotent } from '../http/idempotent-reply.ts';
import { principalOf } from '../http/principal.ts';
import { CursorQuery, IdempotencyHeaders, Metadata, Nullable, Page, problems, Timestamp, Uuid } from '../http/schemas.ts';
import { getProgram } from '../programs/program-operations.ts';
import * as ops from './member-operations.ts';

const CustomerId = Type.String({ minLength: 1, maxLength: 255, description: 'The shop’s own customer id' });
const Email = Type.String({ minLength: 3, maxLength: 320 });
const Phone = Type.String({ minLength: 2, maxLength: 32, description: 'Any format; stored in E.164' });
const Tag = Type.String({ minLength: 1, maxLength: 64 });
const Status = Type.Union([Type.Literal('active'), Type.Literal('blocked')]);

export const MemberSchema = Type.Object({
  id: Uuid, customerId: Nullable(Type.String()), email: Nullable(Type.String()), phone: Nullable(Type.String()),
  firstName: Nullable(Type.String()), lastName: Nullable(Type.String()), birthday: Nullable(Type.String({ format: 'date' })),
  locale: Nullable(Type.String()), marketingConsent: Type.Boolean(), tags: Type.Array(Type.String()), attributes: Metadata,
  status: Status, enrollmentSource: Type.String(), enrolledAt: Timestamp, createdAt: Timestamp, updatedAt: Timestamp,
});

const profileFields = {
  email: Type.Optional(Nullable(Email)),
  phone: Type.Optional(Nullable(Phone)),
  firstName: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  lastName: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  birthday: Type.Optional(Nullable(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' }))),
  locale: Type.Optional(Nullable(Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$', maxLength: 35, description: 'BCP 47, e.g. en, ko, zh-Hant' }))),
  marketingConsent: Type.Optional(Type.Boolean()),
  tags: Type.Optional(Type.Array(Tag, { maxItems: 100 })),
  attributes: Type.Optional(Metadata),
  status: Type.Optional(Status),
};

const CreateBody = Type.Object({
  customerId: Type.Optional(Nullable(CustomerId)),
  ...profileFields,
  enrollmentSource: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'api, shop_registration, pos, import…' })),
}, { additionalProperties: false });

export const memberRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, clock } = app.deps;

  app.post('/members', {
    schema: {
      tags: ['members'], summary: 'Enrol a member',
      description: 'Send an Idempotency-Key to make a retry safe: the same key replays the first response instead of enrolling twice.',
      headers: IdempotencyHeaders,
      body: CreateBody,
      response: { 201: MemberSchema, ...problems(409, 422) },
    },
  }, async (request, reply) => {
    const p = principalOf(request);
    const program = await getProgram(db, p.programId);
    return replyIdempotent(request, reply, { status: 201, required: false }, async (trx) =>
      ops.memberView(await ops.createMember(trx, program, p.actor, request.body, clock?.())));
  });

  app.put('/members/by-customer-id/:customerId', {
    schema: {
      tags: ['members'], summary: 'Create or update the member with this shop customer id (201 created, 200 updated)',
      params: Type.Object({ customerId: CustomerId }),
      body: Type.Object({ ...profileFields, enrollmentSource: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
      response: { 200: MemberSchema, 201: MemberSchema, ...problems(409, 422) },
    },
  }, async (request, reply) => {
    const p = principalOf(request);
    const program = await getProgram(db, p.programId);
    const { member, created } = await ops.upsertMemberByCustomerId(db, program, p.actor, request.params.customerId, request.body, clock?.());
    return reply.code(created ? 201 : 200).send(ops.memberView(member));
  });

  app.get('/members', {
    schema: {
      tags: ['members'], summary: 'List members with filters, oldest first, cursor-paginated',
      querystring: Type.Object({
        status: Type.Optional(Status), tag: Type.Optional(Tag), email: Type.Optional(Email), phone: Type.Optional(Phone),
        customerId: Type.Optional(CustomerId),
        enrolledAfter: Type.Optional(Type.String({ format: 'date-time' })), enrolledBefore: Type.Optional(Type.String({ format: 'date-time' })),
        ...CursorQuery,
      }, { additionalProperties: false }),
      response: { 200: Page(MemberSchema), ...problems(422) },
    },
  }, async (request) => {
    const program = await getProgram(db, principalOf(request).programId);
    return ops.listMembers(db, program, request.query);
  });

  app.get('/members/lookup', {
    schema: {
      tags: ['members'], summary: 'Find one member by customer id, email (case-insensitive) or phone number',
      querystring: Type.Object({ customerId: Type.Optional(CustomerId), email: Type.Optional(Email), phone: Type.Optional(Phone) }, { additionalProperties: false, minProperties: 1, maxProperties: 1 }),
      response: { 200: MemberSchema, ...problems(404, 422) },
    },
  }, async (request) => {
    const program = await getProgram(db, principalOf(request).programId);
    return ops.memberView(await ops.lookupMember(db, program, request.query));
  });

  app.get('/members/:id', {
    schema: { tags: ['members'], summary: 'Get a member', params: Type.Object({ id: Uuid }), response: { 200: MemberSchema, ...problems(404) } },
  }, async (request) => ops.memberView(await ops.getMember(db, principalOf(request).programId, request.params.id)));

  app.patch('/members/:id', {
    schema: {
      tags: ['members'], summary: 'Change a member’s profile or status (blocked members can neither earn nor spend)',
      params: Type.Object({ id: Uuid }),
      body: Type.Object({ customerId: Type.Optional(Nullable(CustomerId)), ...profileFields }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: MemberSchema, ...problems(404, 409, 422) },
    },
  }, async (request) => {
    const p = principalOf(request);
    const program = await getProgram(db, p.programId);
    return ops.memberView(await ops.updateMember(db, program, p.actor, request.params.id, request.body));
  });
};
