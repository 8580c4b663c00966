import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db, Tx } from '../db/database.ts';
import { replyIdempotent } from '../http/idempotent-reply.ts';
import { principalOf } from '../http/principal.ts';

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
  return replyIdempotent(request, reply, { status, required: false }, (trx) => work(trx, p));
}
