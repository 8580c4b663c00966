import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Tx } from '../db/database.ts';
import { GroupCommitter } from '../db/group-commit.ts';
import { inTransaction, requestHash, runIdempotent, runIdempotentGroup, SINGLE, type GroupAnswer, type Outcome } from '../idempotency/run-idempotent.ts';
import { ProblemError } from './error-codes.ts';
import { principalOf } from './principal.ts';

function idempotencyKey(request: FastifyRequest, required: boolean): string | undefined {
  const key = request.headers['idempotency-key'];
  if (typeof key === 'string' && key.length > 0) return key;
  if (required) throw new ProblemError('idempotency_key_required', 'send an Idempotency-Key header (e.g. a UUID) so that a retry has exactly one effect');
  return undefined;
}

const hashOf = (request: FastifyRequest) => requestHash(request.method, request.routeOptions.url ?? request.url, request.params, request.body);

function send(reply: FastifyReply, outcome: Outcome) {
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  if (outcome.status >= 400) reply.type('application/problem+json');
  return reply.code(outcome.status).send(outcome.body);
}

/** A response status, fixed or chosen by the body (an order event: 201 new, 200 a duplicate). */
export type StatusOf = number | ((body: unknown) => number);

const statusFor = (status: StatusOf, body: unknown) => (typeof status === 'number' ? status : status(body));

/**
 * Runs a mutation exactly once per Idempotency-Key and replies with its (possibly replayed)
 * response. With `required: false` a request without the header runs once, unprotected.
 */
export async function replyIdempotent(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { status: StatusOf; required: boolean },
  work: (trx: Tx) => Promise<unknown>,
) {
  const { db, config } = request.server.deps;
  const p = principalOf(request);
  const statusOf = (body: unknown) => statusFor(options.status, body);
  const key = idempotencyKey(request, options.required);
  if (key === undefined) {
    const body = await inTransaction(db, work);
    return reply.code(statusOf(body)).send(body);
  }
  const outcome = await runIdempotent(db, { programId: p.programId, key, hash: hashOf(request), waitMs: config.idempotencyWaitMs, instance: request.url }, async (trx) => {
    const body = await work(trx);
    return { status: statusOf(body), body };
  });
  return send(reply, outcome);
}

/** One request of a group commit. */
export interface GroupedRequest<I> {
  key: string;
  hash: string;
  actor: string;
  input: I;
}

export type IdempotentGroup<I> = GroupCommitter<GroupedRequest<I>, GroupAnswer | typeof SINGLE>;

/**
 * A group commit of one kind of idempotent mutation (docs/architecture.md, "Group commit"):
 * concurrent requests of a program share one transaction (runIdempotentGroup). `work` gets the
 * requests whose keys are fresh and writes them together; for each it answers the response body,
 * a 400 ProblemError, or SINGLE (run it alone). Undefined when
 * LAUREL_GROUP_COMMIT_BATCHES is 0: every request then runs alone.
 */
export function idempotentGroup<I>(
  app: FastifyInstance,
  status: number,
  work: (trx: Tx, programId: string, requests: { index: number; actor: string; input: I }[]) => Promise<Map<number, unknown>>,
  /** The member wallet each request's work will lock: locked with the keys' claim, one round trip less. */
  walletOf?: (input: I) => { memberId: string; walletCode: string },
): IdempotentGroup<I> | undefined {
  const { clock } = app.deps;
  return groupCommitter<GroupedRequest<I>, GroupAnswer>(app, (programId, requests) => runIdempotentGroup(app.deps.db, programId, requests, async (trx, fresh) => {
    const results = await work(trx, programId, fresh.map((index) => ({ index, actor: requests[index]!.actor, input: requests[index]!.input })));
    return new Map([...results].map(([i, r]) => [i, r === SINGLE || r instanceof ProblemError ? r : { status, body: r }]));
  }, walletOf && { pairs: requests.map((r) => walletOf(r.input)), at: clock?.() }));
}

/**
 * The server's group committer running `batch` (undefined when LAUREL_GROUP_COMMIT_BATCHES is 0).
 * A batch that fails hands every request back (SINGLE): nothing of it committed — or, if its
 * commit was cut off after it happened, each request's own run finds its effect (by its key, or
 * as a resend) — so every request goes on alone, and one cannot fail the others.
 */
function groupCommitter<I, R>(app: FastifyInstance, batch: (programId: string, requests: I[]) => Promise<(R | typeof SINGLE)[]>) {
  const { config } = app.deps;
  if (config.groupCommitBatches === 0) return undefined;
  return new GroupCommitter<I, R | typeof SINGLE>(async (programId, requests) => {
    try {
      return await batch(programId, requests);
    } catch (error) {
      app.log.warn({ err: error, requests: requests.length }, 'a group commit failed; its requests run one by one');
      return requests.map(() => SINGLE);
    }
  }, { maxInFlight: config.groupCommitBatches, maxBatch: 128, minWhileBusy: config.groupCommitMinWhileBusy });
}

/**
 * replyIdempotent through a group commit: the request joins the next batch of its program, and is
 * answered once that batch's transaction committed. What the batch hands back (SINGLE) runs through
 * replyIdempotent with `single`, as it would without a group.
 */
export async function replyIdempotentGrouped<I>(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { status: number; group: IdempotentGroup<I> | undefined; input: I },
  single: (trx: Tx) => Promise<unknown>,
) {
  if (!options.group) return replyIdempotent(request, reply, { status: options.status, required: true }, single);
  const p = principalOf(request);
  const key = idempotencyKey(request, true)!;
  const answer = await options.group.submit(p.programId, { key, hash: hashOf(request), actor: p.actor, input: options.input });
  if (answer === SINGLE) return replyIdempotent(request, reply, { status: options.status, required: true }, single);
  if (answer instanceof ProblemError) throw answer;
  return send(reply, answer);
}

/** A group commit of a mutation that carries its own identity (an order event), see naturallyKeyedGroup. */
export type NaturalGroup<I> = GroupCommitter<{ actor: string; input: I }, unknown | typeof SINGLE>;

/**
 * A group commit of requests that need no Idempotency-Key because their body identifies them (an
 * order event: store, order id, event id): concurrent ones of a program share one transaction.
 * `work` answers each request's response body, its ProblemError, or SINGLE (run it alone, as
 * without a group). If the batch fails, every request runs alone: what it wrote is rolled back,
 * or, had its commit gone through, each request's own run finds its effect and answers as a resend.
 */
export function naturallyKeyedGroup<I>(
  app: FastifyInstance,
  work: (trx: Tx, programId: string, requests: { index: number; actor: string; input: I }[]) => Promise<Map<number, unknown>>,
): NaturalGroup<I> | undefined {
  return groupCommitter<{ actor: string; input: I }, unknown>(app, async (programId, requests) => {
    const answers = await inTransaction(app.deps.db, (trx) => work(trx, programId, requests.map((r, index) => ({ index, ...r }))));
    return requests.map((_, i) => (answers.has(i) ? answers.get(i) : SINGLE));
  });
}

/**
 * A naturally keyed mutation (replyIdempotent without a required key) through a group commit when
 * the request is `groupable` and sends no Idempotency-Key (whose stored answer the group does not
 * keep); answered once its batch committed. What the batch hands back runs through `single`.
 */
export async function replyNaturallyKeyedGrouped<I>(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { status: StatusOf; group: NaturalGroup<I> | undefined; input: I; groupable: boolean },
  single: (trx: Tx) => Promise<unknown>,
) {
  const alone = () => replyIdempotent(request, reply, { status: options.status, required: false }, single);
  if (!options.group || !options.groupable || request.headers['idempotency-key'] !== undefined) return alone();
  const p = principalOf(request);
  const answer = await options.group.submit(p.programId, { actor: p.actor, input: options.input });
  if (answer === SINGLE) return alone();
  if (answer instanceof ProblemError) throw answer;
  return reply.code(statusFor(options.status, answer)).send(answer);
}
