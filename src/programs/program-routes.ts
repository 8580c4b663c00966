import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Authenticator } from '../http/auth.ts';
import { principalOf } from '../http/principal.ts';
import { Metadata, Nullable, problems, Timestamp, Uuid, WalletCode } from '../http/schemas.ts';
import * as ops from './program-operations.ts';
import { listApiKeys, listAuditEvents, listStores, listWallets } from './program-repository.ts';

const ProgramSchema = Type.Object({
  id: Uuid, name: Type.String(), currency: Type.String(), currencyExponent: Type.Integer(), timeZone: Type.String(),
  reversalPolicy: Type.Union([Type.Literal('allow_negative'), Type.Literal('take_remaining')]),
  settings: Metadata, createdAt: Timestamp, updatedAt: Timestamp,
});

const ExpiryKind = Type.Union([Type.Literal('never'), Type.Literal('days_after_earn'), Type.Literal('end_of_month'), Type.Literal('end_of_year'), Type.Literal('inactivity')]);
const ExpirySchema = Type.Object({
  kind: ExpiryKind,
  count: Type.Optional(Type.Integer({ minimum: 0, maximum: 36500, description: 'Days (days_after_earn, inactivity) or months/years after the earning period (end_of_month, end_of_year)' })),
}, { additionalProperties: false });

const WalletSchema = Type.Object({
  id: Uuid, code: Type.String(), name: Type.String(), unit: Type.String(),
  expiry: Type.Object({ kind: Type.String(), count: Type.Integer() }), pendingDays: Type.Integer(), createdAt: Timestamp,
});

const StoreKind = Type.Union([Type.Literal('online'), Type.Literal('pos'), Type.Literal('marketplace'), Type.Literal('app')]);
const StoreSchema = Type.Object({
  id: Uuid, code: Type.String(), name: Type.String(), kind: Type.String(), currency: Nullable(Type.String()), createdAt: Timestamp,
});

const ApiKeySchema = Type.Object({
  id: Uuid, name: Type.String(), prefix: Type.String(), createdAt: Timestamp, revokedAt: Nullable(Timestamp), lastUsedAt: Nullable(Timestamp),
});

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });

export function programRoutes(authenticator: Authenticator): FastifyPluginAsyncTypebox {
  return async (app) => {
    const { db } = app.deps;

    app.get('/program', {
      schema: { tags: ['program'], summary: 'The program this API key belongs to', response: { 200: ProgramSchema, ...problems() } },
    }, async (request) => ops.programView(await ops.getProgram(db, principalOf(request).programId)));

    app.patch('/program', {
      schema: {
        tags: ['program'], summary: 'Change the program’s name, time zone, refund policy or settings',
        description: 'The currency cannot change once points have been issued: it fixes the meaning of every amount.',
        body: Type.Object({
          name: Type.Optional(Name),
          timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          reversalPolicy: Type.Optional(Type.Union([Type.Literal('allow_negative'), Type.Literal('take_remaining')])),
          settings: Type.Optional(Metadata),
        }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: ProgramSchema, ...problems(422) },
      },
    }, async (request) => {
      const p = principalOf(request);
      return ops.programView(await ops.updateProgram(db, p.programId, p.actor, request.body));
    });

    app.get('/wallets', {
      schema: { tags: ['program'], summary: 'List wallets', response: { 200: Type.Object({ data: Type.Array(WalletSchema) }), ...problems() } },
    }, async (request) => ({ data: (await listWallets(db, principalOf(request).programId)).map(ops.walletView) }));

    app.post('/wallets', {
      schema: {
        tags: ['program'], summary: 'Create a wallet (e.g. cashback) with its expiry and pending policy',
        body: Type.Object({
          code: WalletCode, name: Name,
          unit: Type.Optional(Type.Union([Type.Literal('points'), Type.Literal('currency')])),
          expiry: Type.Optional(ExpirySchema),
          pendingDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })),
        }, { additionalProperties: false }),
        response: { 201: WalletSchema, ...problems(409, 422) },
      },
    }, async (request, reply) => {
      const p = principalOf(request);
      return reply.code(201).send(ops.walletView(await ops.createWallet(db, p.programId, p.actor, request.body)));
    });

    app.get('/wallets/:code', {
      schema: { tags: ['program'], summary: 'Get a wallet', params: Type.Object({ code: WalletCode }), response: { 200: WalletSchema, ...problems(404) } },
    }, async (request) => ops.walletView(await ops.getWallet(db, principalOf(request).programId, request.params.code)));

    app.patch('/wallets/:code', {
      schema: {
        tags: ['program'], summary: 'Change a wallet’s name, expiry or pending policy (applies to points earned afterwards)',
        params: Type.Object({ code: WalletCode }),
        body: Type.Object({ name: Type.Optional(Name), expiry: Type.Optional(ExpirySchema), pendingDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: WalletSchema, ...problems(404, 422) },
      },
    }, async (request) => {
      const p = principalOf(request);
      return ops.walletView(await ops.updateWallet(db, p.programId, request.params.code, p.actor, request.body));
    });

    app.get('/stores', {
      schema: { tags: ['program'], summary: 'List stores (brands, web shops, POS)', response: { 200: Type.Object({ data: Type.Array(StoreSchema) }), ...problems() } },
    }, async (request) => ({ data: (await listStores(db, principalOf(request).programId)).map(ops.storeView) }));

    app.post('/stores', {
      schema: {
        tags: ['program'], summary: 'Add a store to the program (coalition programs span several)',
        body: Type.Object({
          code: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }), name: Name, kind: StoreKind,
          currency: Type.Optional(Nullable(Currency)),
        }, { additionalProperties: false }),
        response: { 201: StoreSchema, ...problems(409, 422) },
      },
    }, async (request, reply) => {
      const p = principalOf(request);
      return reply.code(201).send(ops.storeView(await ops.createStore(db, p.programId, p.actor, request.body)));
    });

    app.get('/stores/:id', {
      schema: { tags: ['program'], summary: 'Get a store', params: Type.Object({ id: Uuid }), response: { 200: StoreSchema, ...problems(404) } },
    }, async (request) => ops.storeView(await ops.getStore(db, principalOf(request).programId, request.params.id)));

    app.patch('/stores/:id', {
      schema: {
        tags: ['program'], summary: 'Change a store', params: Type.Object({ id: Uuid }),
        body: Type.Object({ name: Type.Optional(Name), kind: Type.Optional(StoreKind), currency: Type.Optional(Nullable(Currency)) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: StoreSchema, ...problems(404, 422) },
      },
    }, async (request) => {
      const p = principalOf(request);
      return ops.storeView(await ops.updateStore(db, p.programId, request.params.id, p.actor, request.body));
    });

    app.get('/api-keys', {
      schema: { tags: ['program'], summary: 'List API keys (never their secrets)', response: { 200: Type.Object({ data: Type.Array(ApiKeySchema) }), ...problems() } },
    }, async (request) => ({ data: (await listApiKeys(db, principalOf(request).programId)).map(ops.apiKeyView) }));

    app.post('/api-keys', {
      schema: {
        tags: ['program'], summary: 'Create a secret API key; the secret is shown once',
        body: Type.Object({ name: Name }, { additionalProperties: false }),
        response: { 201: Type.Object({ key: ApiKeySchema, secret: Type.String({ description: 'Shown only in this response; stored as a hash' }) }), ...problems() },
      },
    }, async (request, reply) => {
      const p = principalOf(request);
      const { row, secret } = await ops.createApiKey(db, p.programId, p.actor, request.body.name);
      return reply.code(201).send({ key: ops.apiKeyView(row), secret });
    });

    app.delete('/api-keys/:id', {
      schema: { tags: ['program'], summary: 'Revoke an API key (effective immediately)', params: Type.Object({ id: Uuid }), response: { 200: ApiKeySchema, ...problems(404) } },
    }, async (request) => {
      const p = principalOf(request);
      const row = await ops.revokeApiKey(db, p.programId, request.params.id, p.actor);
      authenticator.forgetKey(row.id);
      return ops.apiKeyView(row);
    });

    app.get('/audit-events', {
      schema: {
        tags: ['program'], summary: 'Audit log of administrative actions, newest first',
        querystring: Type.Object({ before: Type.Optional(Type.Integer({ minimum: 1 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ data: Type.Array(Type.Object({ id: Type.String(), actor: Type.String(), action: Type.String(), subjectType: Type.String(), subjectId: Type.String(), details: Metadata, createdAt: Timestamp })) }),
          ...problems(),
        },
      },
    }, async (request) => {
      const rows = await listAuditEvents(db, principalOf(request).programId, request.query.limit ?? 50, request.query.before);
      return { data: rows.map((r) => ({ id: String(r.id), actor: r.actor, action: r.action, subjectType: r.subject_type, subjectId: r.subject_id, details: r.details, createdAt: r.created_at.toISOString() })) };
    });
  };
}
