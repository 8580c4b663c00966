import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Tx } from '../db/database.ts';
import { inTransaction, requestHash, runIdempotent } from '../idempotency/run-idempotent.ts';
import { ProblemError } from './error-codes.ts';
import { principalOf } from './principal.ts';

/**
 * Runs a mutation exactly once per Idempotency-Key and replies with its (possibly replayed)
 * response. With `required: false` a request without the header runs once, unprotected.
 */
export async function replyIdempotent(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { status: number; required: boolean },
  work: (trx: Tx) => Promise<unknown>,
) {
  const { db, config } = request.server.deps;
  const p = principalOf(request);
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string' || key.length === 0) {
    if (options.required) {
      throw new ProblemError('idempotency_key_required', 'send an Idempotency-Key header (e.g. a UUID) so that a retry has exactly one effect');
    }
    const body = await inTransaction(db, work);
    return reply.code(options.status).send(body);
  }
  const hash = requestHash(request.method, request.routeOptions.url ?? request.url, request.params, request.body);
  const outcome = await runIdempotent(db, { programId: p.programId, key, hash, waitMs: config.idempotencyWaitMs, instance: request.url }, async (trx) => ({
    status: options.status,
    body: await work(trx),
  }));
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  if (outcome.status >= 400) reply.type('application/problem+json');
  return reply.code(outcome.status).send(outcome.body);
}
