import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Tx } from '../db/database.ts';
import { naturallyKeyedGroup, replyIdempotent, replyNaturallyKeyedGrouped, type NaturalGroup, type StatusOf } from '../http/idempotent-reply.ts';
import { principalOf } from '../http/principal.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { openLedgerContext, type BatchOpening } from './ledger-context.ts';
import type { LedgerContext } from './ledger-operations.ts';

/**
 * The request helpers of every route that works in a program's ledger (ledger, rewards, orders,
 * rules, actions): a route validates and authenticates, then hands its one operation to these.
 */
export function ledgerHttp(app: FastifyInstance) {
  const { db, clock } = app.deps;

  const context = (trx: Tx, programId: string, actor: string) => openLedgerContext(trx, programId, actor, clock);

  /** The work of a request, in the context of its program and caller. */
  const inContext = <T>(request: FastifyRequest, work: (ctx: LedgerContext) => Promise<T>) => async (trx: Tx) => {
    const p = principalOf(request);
    return work(await context(trx, p.programId, p.actor));
  };

  /** A mutation: Idempotency-Key required, one transaction, the first response replayed on retry. */
  async function mutate(request: FastifyRequest, reply: FastifyReply, status: StatusOf, work: (ctx: LedgerContext) => Promise<unknown>) {
    return replyIdempotent(request, reply, { status, required: true }, inContext(request, work));
  }

  /**
   * A mutation that carries its own identity (an order event's store + order id + event id): an
   * Idempotency-Key is honoured if sent, but not needed — a webhook resent as is has one effect.
   * Through a group commit (see naturallyKeyedGroup): `naturallyKeyedGroupOf(many)` makes the
   * group, whose `many` takes a batch's requests and opens their context in its transaction, and
   * `groupable` says which requests may join a batch; the others, and those a batch hands back,
   * run `work` alone.
   */
  function naturallyKeyedGroupOf<I>(many: (opening: BatchOpening, requests: { index: number; actor: string; input: I }[]) => Promise<Map<number, unknown>>) {
    return naturallyKeyedGroup<I>(app, async (trx, programId, requests) => many({ trx, programId, actor: requests[0]!.actor, clock }, requests));
  }

  async function mutateNaturallyKeyedGrouped<I>(
    request: FastifyRequest, reply: FastifyReply, status: StatusOf, grouped: { group: NaturalGroup<I> | undefined; input: I; groupable: boolean },
    work: (ctx: LedgerContext) => Promise<unknown>,
  ) {
    return replyNaturallyKeyedGrouped(request, reply, { status, ...grouped }, inContext(request, work));
  }

  /** A read or a catalog edit: one transaction, no key needed (reads settle what became due). */
  async function read<T>(request: FastifyRequest, work: (ctx: LedgerContext) => Promise<T>): Promise<T> {
    return inTransaction(db, inContext(request, work));
  }

  return { context, inContext, mutate, naturallyKeyedGroupOf, mutateNaturallyKeyedGrouped, read };
}
