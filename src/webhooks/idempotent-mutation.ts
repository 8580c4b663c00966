import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db, Tx } from '../db/database.ts';
import { principalOf } from '../http/principal.ts';
import { inTransaction, requestHash, runIdempotent } from '../idempotency/run-idempotent.ts';

/**
 * A configuration mutation (webhook endpoints, templates, settings, redeliveries) in one
 * transaction. With an Idempotency-Key header it has exactly one effect per key, as the ledger
 * mutations do (same store, same replay and 409 rules); without one it simply runs.
 */
export async function idempotentMutation(
  db: Db,
  waitMs: number,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  work: (trx: Tx, principal: ReturnType<typeof principalOf>) => Promise<unknown>,
) {
  const p = principalOf(request);
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string' || key.length === 0) {
    const body = await inTransaction(db, (trx) => work(trx, p));
    return reply.code(status).send(body);
  }
  const hash = requestHash(request.method, request.routeOptions.url ?? request.url, request.params, request.body);
  const outcome = await runIdempotent(db, { programId: p.programId, key, hash, waitMs, instance: request.url }, async (trx) => ({
    status,
    body: await work(trx, p),
  }));
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  if (outcome.status >= 400) reply.type('application/problem+json');
  return reply.code(outcome.status).send(outcome.body);
}
