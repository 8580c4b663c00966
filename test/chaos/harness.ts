import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { sql } from 'kysely';
import { inject } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { HttpClient, type HttpRequest, type HttpResponse } from '../../bench/lib/http-client.ts';

/**
 * The reliability suite's bookkeeping: every request a test sends, whether it was acknowledged
 * (a definitive answer: 2xx, or a 4xx business refusal), and the checks afterwards that each
 * acknowledged effect exists exactly once.
 */

export interface Tracked {
  /** The Idempotency-Key it is sent (and resent) with; null for a request whose body is its identity (an order event, as webhooks send them). */
  key: string | null;
  label: string;
  request: HttpRequest;
  attempts: number;
  /** The definitive answer, once there is one. */
  response?: { status: number; body: any };
}

export interface Summary {
  suite: string;
  requestsSent: number;
  acknowledged: number;
  retriedAfterFailure: number;
  effectsChecked: number;
  invariantChecks: number;
  failures: string[];
  notes: string[];
}

const started = Date.now();
/** Progress on stderr, so a slow or stuck phase shows where it is. */
export function progress(line: string) {
  process.stderr.write(`[chaos +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
}

export function newSummary(suite: string): Summary {
  return { suite, requestsSent: 0, acknowledged: 0, retriedAfterFailure: 0, effectsChecked: 0, invariantChecks: 0, failures: [], notes: [] };
}

/** Appends this file's summary to the suite's closing report (test/chaos/global-setup.ts). */
export function publishSummary(summary: Summary) {
  appendFileSync(inject('chaosSummaryFile'), `${JSON.stringify(summary)}\n`);
  process.stdout.write(`[chaos] ${summary.suite}: ${summary.requestsSent} requests sent, ${summary.acknowledged} acknowledged, ${summary.retriedAfterFailure} retried after a failure, `
    + `${summary.effectsChecked} effects checked, ${summary.invariantChecks} invariant checks, ${summary.failures.length} failures\n`);
}

/** A definitive answer: the request's effect (or refusal) is settled. 409 in-use, 429 and 5xx are not. */
export function definitive(response: HttpResponse): boolean {
  if (response.status >= 500 || response.status === 429) return false;
  if (response.status === 409) {
    try {
      return response.json().code !== 'idempotency_key_in_use';
    } catch {
      return false;
    }
  }
  return true;
}

export class Journal {
  readonly all: Tracked[] = [];
  /** Answers and failures as they come, by phase (outage, recovery…) and status or error code. */
  readonly seen: Record<string, Record<string, number>> = {};
  phase = 'load';
  /** Counts an answer (a status) or a failure (an error code) in this phase, of a tracked request or not. */
  observe(what: string) {
    const bucket = (this.seen[this.phase] ??= {});
    bucket[what] = (bucket[what] ?? 0) + 1;
  }
  constructor(readonly summary: Summary) {}

  track(label: string, request: HttpRequest, key: string | null = randomUUID()): Tracked {
    const entry: Tracked = { key, label, request: key === null ? request : { ...request, headers: { ...request.headers, 'idempotency-key': key } }, attempts: 0 };
    this.all.push(entry);
    return entry;
  }

  /** One attempt; the answer is kept only when definitive. Network errors are swallowed (the entry stays open). */
  async send(client: HttpClient, entry: Tracked): Promise<Tracked> {
    entry.attempts++;
    this.summary.requestsSent++;
    if (entry.attempts > 1) this.summary.retriedAfterFailure++;
    try {
      const response = await client.request({ ...entry.request, timeoutMs: entry.request.timeoutMs ?? 15_000 });
      this.observe(String(response.status));
      if (definitive(response)) {
        entry.response = { status: response.status, body: response.text ? JSON.parse(response.text) : null };
        this.summary.acknowledged++;
      }
    } catch (error) {
      // connection refused or reset: unacknowledged, retried later with the same key
      this.observe((error as NodeJS.ErrnoException).code ?? 'network');
    }
    return entry;
  }

  open(): Tracked[] {
    return this.all.filter((e) => !e.response);
  }

  /** Retries every unacknowledged request with its own key until each has a definitive answer. */
  async settle(client: HttpClient, options: { maxAttempts?: number; pauseMs?: number } = {}) {
    for (let round = 0; round < (options.maxAttempts ?? 40); round++) {
      const open = this.open();
      if (open.length === 0) return;
      progress(`retrying ${open.length} unacknowledged requests (round ${round + 1})`);
      for (let i = 0; i < open.length; i += 16) await Promise.all(open.slice(i, i + 16).map((e) => this.send(client, e)));
      if (this.open().length > 0) await new Promise((r) => setTimeout(r, options.pauseMs ?? 500));
    }
    const left = this.open();
    if (left.length > 0) this.summary.failures.push(`${left.length} requests never got a definitive answer (e.g. ${left[0]!.label} ${left[0]!.request.path})`);
  }
}

export function check(summary: Summary, ok: boolean, message: string) {
  summary.invariantChecks++;
  if (!ok) summary.failures.push(message);
}

/** /v1/ledger/verify must report every invariant as holding. */
export async function verifyLedger(client: HttpClient, summary: Summary, label: string) {
  const res = await client.request({ method: 'GET', path: '/v1/ledger/verify', timeoutMs: 60_000 });
  const body = res.json();
  check(summary, res.status === 200 && body.ok === true, `${label}: ledger verify failed: ${JSON.stringify(body.checks?.filter((c: { ok: boolean }) => !c.ok) ?? body).slice(0, 2000)}`);
}

/**
 * Replays every acknowledged request with its key: the stored answer comes back unchanged
 * (same status and body), and nothing new is written (checked by the callers' counts). A request
 * without a key (an order event) is answered as a resend: 200 with duplicate: true.
 */
export async function replayAcknowledged(client: HttpClient, journal: Journal, summary: Summary, filter: (e: Tracked) => boolean = () => true) {
  const done = journal.all.filter((e) => e.response && filter(e));
  for (let i = 0; i < done.length; i += 16) {
    await Promise.all(done.slice(i, i + 16).map(async (e) => {
      summary.requestsSent++;
      const res = await client.request({ ...e.request, timeoutMs: 15_000 });
      const same = e.key === null
        ? e.response!.status < 300 && res.status === 200 && res.json().duplicate === true
        : res.status === e.response!.status && JSON.stringify(res.json()) === JSON.stringify(e.response!.body);
      check(summary, same, `replay of ${e.label} ${e.request.path} (key ${e.key}) answered ${res.status} ${res.text.slice(0, 300)} instead of ${e.response!.status}`);
    }));
  }
}

export interface OperationRow {
  id: string;
  kind: string;
  amount: number;
  member_id: string | null;
  target_operation_id: string | null;
  reference_type: string | null;
  reference_id: string | null;
}

export async function operationsOf(db: Db, programId: string): Promise<OperationRow[]> {
  const { rows } = await sql<OperationRow>`
    select id, kind, amount, member_id, target_operation_id, reference_type, reference_id from operations where program_id = ${programId}`.execute(db);
  return rows;
}
