import { createHash } from 'node:crypto';
import type { Db, Tx } from '../db/database.ts';
import { ProblemError, problemBody } from '../http/error-codes.ts';
import * as repo from './idempotency-repository.ts';

export interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * Canonical JSON: the same request in any key order hashes the same. Keys sorted by UTF-16 code
 * units, properties holding undefined left out. Its bytes are stored (request and event hashes),
 * so they must never change: run-idempotent.test.ts checks them against the first definition.
 * Built by appending to one string, without arrays of entries, because it runs on every request
 * with a body (order events of 50 lines included).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return out + ']';
  }
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    let out = '{';
    for (const key of Object.keys(object).sort()) {
      const v = object[key];
      if (v === undefined) continue;
      out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(v);
    }
    return out + '}';
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestHash(method: string, route: string, params: unknown, body: unknown): string {
  return createHash('sha256').update(`${method} ${route}\n${canonicalJson(params)}\n${canonicalJson(body)}`).digest('hex');
}

const RETRYABLE = new Set(['40001', '40P01']);

/** Runs a transaction, retrying it when PostgreSQL reports a serialisation failure or deadlock. */
export async function inTransaction<T>(db: Db, work: (trx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (!code || !RETRYABLE.has(code) || attempt >= 5) throw error;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    }
  }
}

/** The column's limit (idempotency_keys.key). */
export const MAX_KEY_LENGTH = 255;

/** A business refusal (404, 409, 422) out of the work: rolls its transaction back, then is stored. */
class BusinessRefusal extends Error {
  constructor(readonly problem: ProblemError) {
    super(problem.message);
  }
}

type KeyOptions = { programId: string; key: string; hash: string; waitMs: number };

/** Takes the key's lock; the stored answer when the key was used before (or a refusal if for another request). */
async function lockAndReplay(trx: Tx, options: KeyOptions): Promise<Outcome | undefined> {
  const existing = await repo.lockKey(trx, options.programId, options.key, options.waitMs);
  if (!existing) return undefined;
  if (existing.request_hash !== options.hash) throw keyReused(options.key);
  return { status: existing.response_status, body: existing.response_body, replayed: true };
}

/** Stores the first answer (every replay is byte for byte the same) and commits: the transaction's last statement. */
async function saveAndCommit(trx: Tx, options: KeyOptions, result: { status: number; body: unknown }) {
  return repo.saveKeyAndCommit(trx, {
    program_id: options.programId, key: options.key, request_hash: options.hash,
    response_status: result.status, response_body: result.body,
  });
}

/**
 * Exactly-once execution per (program, Idempotency-Key): the effect and the stored response
 * commit in one transaction. A repeat replays the first response; a different request under the
 * same key is refused; a business failure (404, 409, 422) is stored too, so it stays failed for
 * that key (its transaction rolls back whatever the work wrote, and a second one stores the
 * refusal). A malformed request (400) and a server error (5xx) store nothing: the key stays
 * unused, and a corrected retry under it runs.
 */
export async function runIdempotent(
  db: Db,
  options: { programId: string; key: string; hash: string; waitMs: number; instance?: string },
  work: (trx: Tx) => Promise<{ status: number; body: unknown }>,
): Promise<Outcome> {
  // Every route reaches here, whether or not its schema declares the header: check it once.
  if (options.key.length > MAX_KEY_LENGTH) {
    throw new ProblemError('validation_failed', `Idempotency-Key must be at most ${MAX_KEY_LENGTH} characters`, { field: 'idempotency-key' });
  }
  try {
    try {
      return await inTransaction(db, async (trx) => {
        const replay = await lockAndReplay(trx, options);
        if (replay) return replay;
        let result: { status: number; body: unknown };
        try {
          result = await work(trx);
        } catch (error) {
          if (error instanceof ProblemError && error.status !== 400 && error.status < 500) throw new BusinessRefusal(error);
          throw error;
        }
        return { status: result.status, body: await saveAndCommit(trx, options, result), replayed: false };
      });
    } catch (error) {
      if (!(error instanceof BusinessRefusal)) throw error;
      // The refusal's transaction rolled back, with whatever the work had written; the refusal
      // alone is stored now, unless a duplicate stored an answer for the key in between.
      const result = { status: error.problem.status, body: problemBody(error.problem, options.instance) };
      return await inTransaction(db, async (trx) => (await lockAndReplay(trx, options)) ?? { status: result.status, body: await saveAndCommit(trx, options, result), replayed: false });
    }
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') {
      throw new ProblemError('idempotency_key_in_use', `a request with Idempotency-Key "${options.key}" is still running; retry later`);
    }
    throw error;
  }
}

/** A request a group commit hands back: it must run on its own (runIdempotent) after the batch. */
export const SINGLE: unique symbol = Symbol('single');

/** What a request of a group commit gets: its outcome, its 400 problem, or SINGLE. */
export type GroupAnswer = Outcome | ProblemError | typeof SINGLE;

/**
 * runIdempotent for a batch of requests of one program (a group commit): one transaction, one
 * statement per step for all of them. Each request keeps its own exactly-once guarantee: its key
 * is locked, a stored answer is replayed (or the request refused if it differs), and its effect
 * commits with its stored answer. A request this path does not settle is answered SINGLE and
 * must go through runIdempotent alone after this transaction ends: one whose key another
 * transaction holds (it waits there), a second one under a key already in the batch (it replays
 * the first there), an over-long key (refused there), and whatever `work` hands back — the work
 * never refuses on business grounds, since a refusal would have to roll back the others' effects.
 */
export async function runIdempotentGroup(
  db: Db,
  programId: string,
  requests: { key: string; hash: string }[],
  work: (trx: Tx, fresh: number[]) => Promise<Map<number, { status: number; body: unknown } | ProblemError | typeof SINGLE>>,
  /** Member wallets `work` will lock, locked by the key claim's statement (claimKeys). */
  wallets?: Parameters<typeof repo.claimKeys>[3],
): Promise<GroupAnswer[]> {
  return inTransaction(db, async (trx) => {
    const answers: GroupAnswer[] = requests.map(() => SINGLE);
    const first = new Map<string, number>();
    requests.forEach((r, i) => {
      if (r.key.length > 0 && r.key.length <= MAX_KEY_LENGTH && !first.has(r.key)) first.set(r.key, i);
    });
    if (first.size === 0) return answers;
    const stored = await repo.claimKeys(trx, programId, [...first.keys()], wallets);
    const fresh: number[] = [];
    for (const key of stored.keys()) {
      const i = first.get(key)!;
      const found = stored.get(key);
      if (!found) fresh.push(i);
      else if (found.request_hash !== requests[i]!.hash) answers[i] = keyReused(key);
      else answers[i] = { status: found.response_status, body: found.response_body, replayed: true };
    }
    if (fresh.length === 0) return answers;
    const results = await work(trx, fresh.sort((a, b) => a - b));
    const done: { i: number; status: number; body: unknown }[] = [];
    for (const i of fresh) {
      const result = results.get(i) ?? SINGLE;
      if (result === SINGLE || result instanceof ProblemError) answers[i] = result;
      else done.push({ i, ...result });
    }
    const saved = await repo.saveKeysAndCommit(trx, programId, done.map(({ i, status, body }) => ({
      key: requests[i]!.key, request_hash: requests[i]!.hash, response_status: status, response_body: body,
    })));
    for (const { i, status } of done) answers[i] = { status, body: saved.get(requests[i]!.key), replayed: false };
    return answers;
  });
}

function keyReused(key: string) {
  return new ProblemError('idempotency_key_reused', `Idempotency-Key "${key}" was first used for a different request`);
}
