import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Tx } from '../db/database.ts';
import { replyIdempotent } from '../http/idempotent-reply.ts';
import { principalOf } from '../http/principal.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { openLedgerContext } from '../ledger/ledger-context.ts';

/** The request helpers of the rewards routes: the same contract as the ledger's (see ledger-routes.ts). */
export function rewardHttp(app: FastifyInstance) {
  const { db, clock } = app.deps;

  const context = (trx: Tx, programId: string, actor: string) => openLedgerContext(trx, programId, actor, clock);

  /** A mutation that moves points or stock: Idempotency-Key required, one transaction, replayed on retry. */
  async function mutate(request: FastifyRequest, reply: FastifyReply, status: number, work: (ctx: LedgerContext) => Promise<unknown>) {
    const p = principalOf(request);
    return replyIdempotent(request, reply, { status, required: true }, async (trx) => work(await context(trx, p.programId, p.actor)));
  }

  /** A catalog edit or a read: one transaction, no key needed. */
  async function run<T>(request: FastifyRequest, work: (ctx: LedgerContext) => Promise<T>): Promise<T> {
    const p = principalOf(request);
    return inTransaction(db, async (trx) => work(await context(trx, p.programId, p.actor)));
  }

  return { mutate, run };
}
