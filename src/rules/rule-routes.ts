import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CursorQuery, IdempotencyHeaders, Page, problems, Uuid } from '../http/schemas.ts';
import { ledgerHttp } from '../ledger/ledger-http.ts';
import { memberAwards, memberProgress, preview } from './earning-reads.ts';
import * as ops from './rule-operations.ts';
import { AwardSchema, CreateRuleBody, PreviewBody, PreviewSchema, ProgressSchema, RuleKindQuery, RuleSchema, SettingsSchema, UpdateRuleBody } from './rule-schemas.ts';

export const ruleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { mutate, read } = ledgerHttp(app);

  app.get('/rules', {
    schema: {
      tags: ['rules'], summary: 'Earning rules, oldest first, each with its version in force now, scheduled versions and history',
      querystring: Type.Object({ kind: RuleKindQuery, ...CursorQuery }, { additionalProperties: false }),
      response: { 200: Page(RuleSchema), ...problems() },
    },
  }, async (request) => read(request, (ctx) => ops.listRules(ctx.trx, ctx.program.id, ctx.now, request.query)));

  app.post('/rules', {
    schema: {
      tags: ['rules'], summary: 'Create an earning rule (version 1), effective now or from a later date',
      description: 'Kinds: base_rate, multiplier, extra_points, cashback, threshold, challenge, action — see docs/rules.md. An impossible configuration is refused with invalid_rule and the list of problems.',
      headers: IdempotencyHeaders, body: CreateRuleBody,
      response: { 201: RuleSchema, ...problems(409, 422) },
    },
  }, async (request, reply) => mutate(request, reply, 201, (ctx) => ops.createRule(ctx, request.body)));

  app.get('/rules/:id', {
    schema: { tags: ['rules'], summary: 'An earning rule with all its versions', params: Type.Object({ id: Uuid }), response: { 200: RuleSchema, ...problems(404) } },
  }, async (request) => read(request, (ctx) => ops.getRule(ctx.trx, ctx.program.id, request.params.id, ctx.now)));

  app.put('/rules/:id', {
    schema: {
      tags: ['rules'], summary: 'Change a rule: adds a version effective now or later; earlier versions keep explaining earlier orders',
      description: 'Send the whole rule (name, config…). enabled: false switches it off from effectiveFrom.',
      params: Type.Object({ id: Uuid }), headers: IdempotencyHeaders, body: UpdateRuleBody,
      response: { 200: RuleSchema, ...problems(404, 409, 422) },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => ops.updateRule(ctx, request.params.id, request.body)));

  app.get('/earning-settings', {
    schema: { tags: ['rules'], summary: 'Claim window for orders of shoppers who join later, and the default start of the return window', response: { 200: SettingsSchema, ...problems() } },
  }, async (request) => read(request, (ctx) => ops.getEarningSettings(ctx.trx, ctx.program.id)));

  app.put('/earning-settings', {
    schema: {
      tags: ['rules'], summary: 'Change the earning settings (applies to orders processed from now on)',
      headers: IdempotencyHeaders, body: Type.Partial(SettingsSchema, { additionalProperties: false, minProperties: 1 }),
      response: { 200: SettingsSchema, ...problems(409, 422) },
    },
  }, async (request, reply) => mutate(request, reply, 200, (ctx) => ops.updateEarningSettings(ctx, request.body)));

  app.post('/earning/preview', {
    schema: {
      tags: ['rules'], summary: 'Points a cart or a product would earn now (for this member, if given), with the breakdown and the rules that would not apply and why; writes nothing',
      body: PreviewBody, response: { 200: PreviewSchema, ...problems(404, 422) },
    },
  }, async (request) => read(request, (ctx) => preview(ctx, request.body)));

  app.get('/members/:id/progress', {
    schema: {
      tags: ['rules'], summary: 'A member’s progress on spend thresholds and challenges: the current period of each one in force, then past periods',
      params: Type.Object({ id: Uuid }), response: { 200: ProgressSchema, ...problems(404) },
    },
  }, async (request) => read(request, (ctx) => memberProgress(ctx, request.params.id)));

  app.get('/members/:id/awards', {
    schema: {
      tags: ['rules'], summary: 'A member’s points from rules, newest first: each earn with the rules that made it, why, and what refunds took back',
      params: Type.Object({ id: Uuid }), querystring: Type.Object(CursorQuery, { additionalProperties: false }),
      response: { 200: Page(AwardSchema), ...problems(404) },
    },
  }, async (request) => read(request, (ctx) => memberAwards(ctx, request.params.id, request.query)));
};
