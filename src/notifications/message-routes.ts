import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../http/principal.ts';
import { CursorQuery, IdempotencyHeaders, Nullable, Page, problems, Timestamp, Uuid } from '../http/schemas.ts';
import { workerOptionsFromEnv } from '../jobs/worker-options.ts';
import { idempotentMutation } from '../webhooks/idempotent-mutation.ts';
import { LifecycleSettingsSchema } from './lifecycle-settings.ts';
import { MESSAGE_KINDS, TEMPLATE_VARIABLES } from './message-kinds.ts';
import * as ops from './message-operations.ts';

/** The same schema with every property optional, at every depth (a PATCH body). */
function deepPartial(schema: unknown): TSchema {
  const s = schema as Record<string, unknown>;
  if (s.type === 'object' && s.properties) {
    const properties = Object.fromEntries(Object.entries(s.properties as Record<string, unknown>).map(([k, v]) => [k, deepPartial(v)]));
    const { required: _required, ...rest } = s;
    return { ...rest, properties } as unknown as TSchema;
  }
  return s as unknown as TSchema;
}

const SettingsPatch = deepPartial(JSON.parse(JSON.stringify(LifecycleSettingsSchema)));
const Kind = Type.String({ maxLength: 40, description: MESSAGE_KINDS.join(' | ') });
const Locale = Type.String({ minLength: 2, maxLength: 35, description: 'BCP 47 locale: en, ko, ja, zh-Hant, th (shipped) or any other' });
const TemplateParams = Type.Object({ kind: Kind, locale: Locale });
const Subject = Type.String({ minLength: 1, maxLength: 300 });
const Body = Type.String({ minLength: 1, maxLength: 20000 });

const TemplateSchema = Type.Object({
  kind: Type.String(), locale: Type.String(), subject: Type.String(), body: Type.String(),
  source: Type.Union([Type.Literal('default'), Type.Literal('custom')]), marketing: Type.Boolean(), trigger: Type.String(),
  updatedAt: Nullable(Timestamp), updatedBy: Nullable(Type.String()),
});

const MessageStatus = Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('skipped'), Type.Literal('failed')]);
const MessageSchema = Type.Object({
  id: Uuid, memberId: Uuid, kind: Type.String(), channel: Type.String(), status: MessageStatus, skipReason: Nullable(Type.String()),
  eventId: Nullable(Type.String()), locale: Nullable(Type.String()), recipient: Nullable(Type.String()), subject: Nullable(Type.String()),
  text: Nullable(Type.String()), attempts: Type.Integer(), nextAttemptAt: Nullable(Timestamp), lastError: Nullable(Type.String()),
  sentAt: Nullable(Timestamp), createdAt: Timestamp,
});

const PreferencesSchema = Type.Object({
  memberId: Uuid, marketingConsent: Type.Boolean(), unsubscribed: Type.Boolean(), unsubscribedAt: Nullable(Timestamp),
  unsubscribeSource: Nullable(Type.String()), unsubscribeUrl: Type.String(),
});

export const messageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app.deps;
  const publicUrl = () => workerOptionsFromEnv(process.env).publicUrl;
  const tags = ['messages'];

  app.get('/lifecycle-settings', {
    schema: {
      tags, summary: 'Scheduled lifecycle jobs (reminders, birthdays, at-risk) and message channels of the program',
      response: { 200: LifecycleSettingsSchema, ...problems() },
    },
  }, async (request) => ops.getSettings(db, principalOf(request).programId));

  app.patch('/lifecycle-settings', {
    schema: {
      tags, summary: 'Change the lifecycle settings: objects merge key by key, arrays are replaced',
      body: SettingsPatch,
      response: { 200: LifecycleSettingsSchema, ...problems(422) },
    },
  }, async (request, reply) => idempotentMutation(db, config.idempotencyWaitMs, request, reply, 200, (trx, p) =>
    ops.updateSettings(trx, p.programId, p.actor, request.body as Record<string, unknown>)));

  app.get('/message-templates', {
    schema: {
      tags, summary: 'Every message template in effect: shipped (en, ko, ja, zh-Hant, th) or the program’s own',
      querystring: Type.Object({ kind: Type.Optional(Kind), locale: Type.Optional(Locale) }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(TemplateSchema), variables: Type.Record(Type.String(), Type.String()) }), ...problems(422) },
    },
  }, async (request) => ({ data: await ops.listTemplates(db, principalOf(request).programId, request.query), variables: { ...TEMPLATE_VARIABLES } }));

  app.get('/message-templates/:kind/:locale', {
    schema: { tags, summary: 'One template in effect', params: TemplateParams, response: { 200: TemplateSchema, ...problems(404, 422) } },
  }, async (request) => ops.getTemplate(db, principalOf(request).programId, request.params.kind, request.params.locale));

  app.put('/message-templates/:kind/:locale', {
    schema: {
      tags, summary: 'Replace a template with the program’s own (any locale); checked for unknown variables and unbalanced blocks',
      params: TemplateParams, headers: IdempotencyHeaders,
      body: Type.Object({ subject: Subject, body: Body }, { additionalProperties: false }),
      response: { 200: TemplateSchema, ...problems(422) },
    },
  }, async (request, reply) => idempotentMutation(db, config.idempotencyWaitMs, request, reply, 200, (trx, p) =>
    ops.putTemplate(trx, p.programId, p.actor, request.params.kind, request.params.locale, request.body)));

  app.delete('/message-templates/:kind/:locale', {
    schema: { tags, summary: 'Drop the program’s own template: the shipped one applies again', params: TemplateParams, response: { 204: Type.Null(), ...problems(404, 422) } },
  }, async (request, reply) => {
    await idempotentMutation(db, config.idempotencyWaitMs, request, reply, 204, async (trx, p) => {
      await ops.deleteTemplate(trx, p.programId, p.actor, request.params.kind, request.params.locale);
      return null;
    });
    return reply;
  });

  app.post('/message-templates/:kind/:locale/preview', {
    schema: {
      tags, summary: 'Render a template (stored, or subject/body from the request) for a member or a sample member; nothing is sent',
      params: TemplateParams,
      body: Nullable(Type.Object({
        memberId: Type.Optional(Uuid), subject: Type.Optional(Subject), body: Type.Optional(Body),
        context: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Event values, e.g. {"points": 120, "lastDay": "2025-03-31"}' })),
      }, { additionalProperties: false })),
      response: {
        200: Type.Object({ kind: Type.String(), locale: Type.String(), subject: Type.String(), text: Type.String(), html: Type.String(), variables: Type.Record(Type.String(), Type.String()) }),
        ...problems(404, 422),
      },
    },
  }, async (request) => ops.previewTemplate(db, principalOf(request).programId, request.params.kind, request.params.locale, publicUrl(), request.body ?? {}));

  app.get('/messages', {
    schema: {
      tags, summary: 'Messages decided for members, newest first: sent, skipped (with the reason), pending or failed',
      querystring: Type.Object({
        memberId: Type.Optional(Uuid), kind: Type.Optional(Kind), status: Type.Optional(MessageStatus),
        channel: Type.Optional(Type.Union([Type.Literal('email'), Type.Literal('webhook')])), ...CursorQuery,
      }, { additionalProperties: false }),
      response: { 200: Page(MessageSchema), ...problems(422) },
    },
  }, async (request) => ops.listMessageViews(db, principalOf(request).programId, request.query));

  app.get('/messages/:id', {
    schema: {
      tags, summary: 'One message with its HTML and trigger context', params: Type.Object({ id: Uuid }),
      response: { 200: Type.Intersect([MessageSchema, Type.Object({ html: Nullable(Type.String()), context: Type.Record(Type.String(), Type.Unknown()) })]), ...problems(404) },
    },
  }, async (request) => ops.getMessageView(db, principalOf(request).programId, request.params.id));

  app.get('/members/:id/message-preferences', {
    schema: {
      tags, summary: 'Whether the member gets messages: marketing consent, unsubscribed from all, and their unsubscribe link',
      params: Type.Object({ id: Uuid }), response: { 200: PreferencesSchema, ...problems(404) },
    },
  }, async (request) => ops.getPreferences(db, principalOf(request).programId, request.params.id, publicUrl()));

  app.put('/members/:id/message-preferences', {
    schema: {
      tags, summary: 'Unsubscribe a member from all loyalty messages, or subscribe them again (marketing consent stays a member field)',
      params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders,
      body: Type.Object({ unsubscribed: Type.Boolean() }, { additionalProperties: false }),
      response: { 200: PreferencesSchema, ...problems(404) },
    },
  }, async (request, reply) => idempotentMutation(db, config.idempotencyWaitMs, request, reply, 200, (trx, p) =>
    ops.setUnsubscribed(trx, p.programId, p.actor, request.params.id, request.body.unsubscribed, publicUrl())));
};
