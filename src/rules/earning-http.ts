import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Tx } from '../db/database.ts';
import { ProblemError } from '../http/error-codes.ts';
import { principalOf } from '../http/principal.ts';
import { inTransaction, requestHash, runIdempotent } from '../idempotency/run-idempotent.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { openLedgerContext } from '../ledger/ledger-context.ts';

/** Request helpers of the orders, rules and actions routes: the ledger routes' contract (see ledger-routes.ts). */
export function earningHttp(app: FastifyInstance) {
  const { db, config, clock } = app.deps;

  const context = (trx: Tx, programId: string, actor: string) => openLedgerContext(trx, programId, actor, clock);

  async function idempotent(request: FastifyRequest, reply: FastifyReply, key: string, status: (body: unknown) => number, work: (ctx: LedgerContext) => Promise<unknown>) {
    const p = principalOf(request);
    const hash = requestHash(request.method, request.routeOptions.url ?? request.url, request.params, request.body);
    const outcome = await runIdempotent(db, { programId: p.programId, key, hash, waitMs: config.idempotencyWaitMs, instance: request.url }, async (trx) => {
      const body = await work(await context(trx, p.programId, p.actor));
      return { status: status(body), body };
    });
    if (outcome.replayed) reply.header('idempotent-replayed', 'true');
    if (outcome.status >= 400) reply.type('application/problem+json');
    return reply.code(outcome.status).send(outcome.body);
  }

  /** A mutation: Idempotency-Key required, one transaction, the first response replayed on retry. */
  async function mutate(request: FastifyRequest, reply: FastifyReply, status: number | ((body: unknown) => number), work: (ctx: LedgerContext) => Promise<unknown>) {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0) {
      throw new ProblemError('idempotency_key_required', 'send an Idempotency-Key header (e.g. a UUID) so that a retry has exactly one effect');
    }
    return idempotent(request, reply, key, typeof status === 'number' ? () => status : status, work);
  }

  /**
   * A mutation that carries its own identity (an order event's store + order id + event id): an
   * Idempotency-Key is honoured if sent, but not needed — a webhook resent as is has one effect.
   */
  async function mutateNaturallyKeyed(request: FastifyRequest, reply: FastifyReply, status: (body: unknown) => number, work: (ctx: LedgerContext) => Promise<unknown>) {
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string' && key.length > 0) return idempotent(request, reply, key, status, work);
    const p = principalOf(request);
    const body = await inTransaction(db, async (trx) => work(await context(trx, p.programId, p.actor)));
    return reply.code(status(body)).send(body);
  }

  /** A read: one transaction (reads settle what became due, like the ledger's). */
  async function read<T>(request: FastifyRequest, work: (ctx: LedgerContext) => Promise<T>): Promise<T> {
    const p = principalOf(request);
    return inTransaction(db, async (trx) => work(await context(trx, p.programId, p.actor)));
  }

  return { mutate, mutateNaturallyKeyed, read };
}
