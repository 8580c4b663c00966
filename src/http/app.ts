import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { ping, type Db } from '../db/database.ts';
import type { Principal } from '../programs/program-operations.ts';
import { dashboardRoutes } from '../dashboard/dashboard-routes.ts';
import { importRoutes } from '../imports/import-routes.ts';
import { ledgerRoutes } from '../ledger/ledger-routes.ts';
import { tierRoutes } from '../tiers/tier-routes.ts';
import { memberRoutes } from '../members/member-routes.ts';
import { programRoutes } from '../programs/program-routes.ts';
import { rewardRoutes } from '../rewards/reward-routes.ts';
import { orderRoutes } from '../orders/order-routes.ts';
import { ruleRoutes } from '../rules/rule-routes.ts';
import { actionRoutes } from '../actions/action-routes.ts';
import { lifecycleRoutes } from '../notifications/lifecycle-routes.ts';
import { unsubscribeRoutes } from '../notifications/unsubscribe-routes.ts';
import { createAuthenticator } from './auth.ts';
import { databaseUnavailable } from './database-unavailable.ts';
import { ProblemError, problemBody } from './error-codes.ts';
import { faultMessage, inspectInput, nulLine } from './input-guard.ts';
import { principalOf } from './principal.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { responseSerializerFactory } from './response-serializer.ts';
import { ProblemSchema, problemResponse } from './schemas.ts';

export interface AppDeps {
  db: Db;
  config: Config;
  /** Tests move time; production reads the database clock. */
  clock?: () => Date | undefined;
  logger?: boolean | object;
}

export type App = FastifyInstance & { deps: AppDeps };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by /v1's authentication hook; null before it (declared up front so every request keeps one shape). */
    principal: Principal | null;
  }
  interface FastifyInstance {
    deps: AppDeps;
  }
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:\/+=-]{1,128}$/;

function toProblem(error: FastifyError & { code?: string }): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error.validation) {
    const errors = error.validation.map((v) => ({
      path: `${error.validationContext ?? 'body'}${v.instancePath || ''}`,
      message: v.message ?? 'invalid',
      ...(v.params && Object.keys(v.params).length ? { params: v.params } : {}),
    }));
    const detail = errors.map((e) => `${e.path} ${e.message}`).join('; ');
    return new ProblemError('validation_failed', detail, { errors });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError('body_too_large', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProblemError('unsupported_media_type', error.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ProblemError('invalid_json', error.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ProblemError('validation_failed', error.message);
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return new ProblemError('invalid_json', error.message);
  }
  if (databaseUnavailable(error)) return new ProblemError('service_unavailable');
  if (error.statusCode === 404) return new ProblemError('not_found', error.message);
  if (error.statusCode === 405) return new ProblemError('method_not_allowed', error.message);
  if (error.statusCode === 415) return new ProblemError('unsupported_media_type', error.message);
  if (error.statusCode === 413) return new ProblemError('body_too_large', error.message);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new ProblemError('validation_failed', error.message);
  }
  return new ProblemError('internal_error', 'An unexpected error occurred; it has been logged with the request id');
}

/** What the input guard refuses in a request (src/http/input-guard.ts), as a problem; null when nothing. */
function inputProblem(request: FastifyRequest): ProblemError | null {
  if (typeof request.body === 'string') {
    const line = nulLine(request.body);
    if (line !== null) return new ProblemError('validation_failed', `the body contains the NUL character (U+0000) on line ${line}`, { field: 'body', line });
  }
  const fault = inspectInput(request.params, 'params') ?? inspectInput(request.query, 'querystring')
    ?? (typeof request.body === 'string' ? null : inspectInput(request.body, 'body'));
  return fault ? new ProblemError('validation_failed', faultMessage(fault), { field: fault.at }) : null;
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemError) {
  if (problem.status === 503) reply.header('retry-after', '1');
  return reply.code(problem.status).type('application/problem+json').send(problemBody(problem, request.url, request.id));
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    logger: deps.logger ?? { level: deps.config.logLevel },
    bodyLimit: deps.config.bodyLimitBytes,
    // A caller's x-request-id is kept to correlate logs across systems, but only when it is a
    // short token: it lands in logs and problem bodies.
    requestIdHeader: false,
    genReqId: (raw) => {
      const given = raw.headers['x-request-id'];
      return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: { compilersFactory: { buildSerializer: responseSerializerFactory() } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate('deps', deps);
  app.decorateRequest('principal', null);
  // JSON only: Fastify would otherwise parse text/plain and let it fail validation as a 400.
  app.removeContentTypeParser('text/plain');

  // Bodies are validated strictly (a string is never a number); query strings and params are
  // text by nature, so they are coerced.
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, strict: false, allErrors: true });
  const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, strict: false, allErrors: true });
  addFormats.default(strict);
  addFormats.default(coercing);
  for (const ajv of [strict, coercing]) ajv.addSchema(ProblemSchema);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));

  app.addSchema(ProblemSchema);
  // The hooks every request passes take a callback rather than returning a promise: they decide
  // synchronously, and a promise would cost each request an allocation and a microtask turn.
  app.addHook('preValidation', (request, _reply, done) => {
    done(inputProblem(request) ?? undefined);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblem(error);
    // A database that cannot be reached is an outage to watch, not a bug: one warning per request.
    if (problem.status === 503) request.log.warn({ err: error }, 'request failed');
    else if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, new ProblemError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Laurel API',
        version: '0.1.0',
        description:
          'Loyalty program engine: members, an exact double-entry points ledger, programs and wallets. ' +
          'Authenticate with `Authorization: Bearer <secret key>`. Mutations of the ledger need an `Idempotency-Key` header. ' +
          'Errors are RFC 9457 problem documents with a stable `code`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Secret API key of one program (lrl_sk_…)' } } },
      security: [{ apiKey: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(dashboardRoutes);
  await app.register(unsubscribeRoutes);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/health', {
    schema: {
      tags: ['system'], summary: 'Liveness and database reachability', security: [],
      response: { 200: Type.Object({ status: Type.Literal('ok') }), 503: problemResponse },
    },
  }, async (request, reply) => {
    try {
      await ping(deps.db);
      return { status: 'ok' as const };
    } catch {
      // Like every other problem: its instance, request id and Retry-After.
      return sendProblem(request, reply, new ProblemError('service_unavailable'));
    }
  });

  const authenticator = createAuthenticator(deps.db);
  const limiter = createRateLimiter({ max: deps.config.rateLimitPerMinute, windowMs: 60_000 });
  await app.register(async (v1) => {
    // Every /v1 operation states its security requirement in the OpenAPI document, including
    // routes registered later by other modules.
    v1.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, security: route.schema?.security ?? [{ apiKey: [] }] };
    });
    // A refused key throws here, synchronously or through the promise: Fastify answers either as a problem.
    v1.addHook('onRequest', (request, _reply, done) => {
      const principal = authenticator.authenticate(request.headers.authorization);
      if (principal instanceof Promise) {
        principal.then((p) => {
          request.principal = p;
          done();
        }, done);
      } else {
        request.principal = principal;
        done();
      }
    });
    // After authentication (registered after it): requests that then fail parsing or validation
    // count too, so invalid floods are limited as well.
    v1.addHook('onRequest', (request, reply, done) => {
      const decision = limiter.take(principalOf(request).keyId);
      reply.header('x-ratelimit-limit', limiter.max).header('x-ratelimit-remaining', decision.remaining).header('x-ratelimit-reset', decision.resetSeconds);
      if (decision.allowed) return done();
      reply.header('retry-after', decision.resetSeconds);
      done(new ProblemError('rate_limited', `limit of ${limiter.max} requests per minute reached; retry in ${decision.resetSeconds} s`));
    });
    await v1.register(programRoutes(authenticator));
    await v1.register(memberRoutes);
    await v1.register(ledgerRoutes);
    await v1.register(tierRoutes);
    await v1.register(importRoutes);
    await v1.register(rewardRoutes);
    await v1.register(orderRoutes);
    await v1.register(ruleRoutes);
    await v1.register(actionRoutes);
    await v1.register(lifecycleRoutes);
  }, { prefix: '/v1' });

  await app.ready();
  return app as unknown as App;
}
