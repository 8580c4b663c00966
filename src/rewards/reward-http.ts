import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { databaseNow, type Tx } from '../db/database.ts';
import { ProblemError } from '../http/error-codes.ts';
import { principalOf } from '../http/principal.ts';
import { inTransaction, requestHash, runIdempotent } from '../idempotency/run-idempotent.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { programForContext } from './reward-repository.ts';

/** The request helpers of the rewards routes: the same contract as the ledger's (see ledger-routes.ts). */
export function rewardHttp(app: FastifyInstance) {
  const { db, config, clock } = app.deps;

  async function context(trx: Tx, programId: string, actor: string): Promise<LedgerContext> {
    const program = await (await programForContext(trx, programId))!;
    return { trx, program, now: clock?.() ?? (await databaseNow(trx)), actor };
  }

  /** A mutation that moves points or stock: Idempotency-Key required, one transaction, replayed on retry. */
  async function mutate(request: FastifyRequest, reply: FastifyReply, status: number, work: (ctx: LedgerContext) => Promise<unknown>) {
    const p = principalOf(request);
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0) {
      throw new ProblemError('idempotency_key_required', 'send an Idempotency-Key header (e.g. a UUID) so that a retry has exactly one effect');
    }
    const hash = requestHash(request.method, request.routeOptions.url ?? request.url, request.params, request.body);
    const outcome = await runIdempotent(db, { programId: p.programId, key, hash, waitMs: config.idempotencyWaitMs, instance: request.url }, async (trx) => ({
      status,
      body: await work(await context(trx, p.programId, p.actor)),
    }));
    if (outcome.replayed) reply.header('idempotent-replayed', 'true');
    if (outcome.status >= 400) reply.type('application/problem+json');
    return reply.code(outcome.status).send(outcome.body);
  }

  /** A catalog edit or a read: one transaction, no key needed. */
  async function run<T>(request: FastifyRequest, work: (ctx: LedgerContext) => Promise<T>): Promise<T> {
    const p = principalOf(request);
    return inTransaction(db, async (trx) => work(await context(trx, p.programId, p.actor)));
  }

  return { mutate, run };
}
