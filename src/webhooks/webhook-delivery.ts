import { clockFrom, type Db } from '../db/database.ts';
import { envelopeOf, eventPublicId, findEventsByIds, recordEvent } from '../events/event-repository.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { nextRetryAt } from '../jobs/retry-schedule.ts';
import type { WorkerOptions } from '../jobs/worker-options.ts';
import { signatureHeaders } from './webhook-signature.ts';
import { postWebhook } from './webhook-http.ts';
import * as repo from './webhook-repository.ts';
import { sweepLanes } from '../jobs/sweep-lanes.ts';

export interface SweepResult {
  attempted: number;
  succeeded: number;
  failed: number;
  gaveUp: number;
  disabledEndpoints: string[];
  /** More work was due when the time budget ran out. */
  more: boolean;
  /** Retries scheduled by this sweep, so that the caller can wake up for them. */
  retryAt: Date[];
}

type DeliveryOptions = Pick<WorkerOptions, 'webhookRetryScheduleMs' | 'webhookRetryJitter' | 'webhookTimeoutMs' | 'webhookLeaseMs' | 'webhookParallelism' | 'disableFailingEndpoints' | 'sweepBudgetMs'>;

/** The secrets that sign now: the current one, and the previous one during its grace period. */
export function signingSecrets(d: Pick<repo.ClaimedDelivery, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>, now: Date): string[] {
  const secrets = [d.secret];
  if (d.previous_secret && d.previous_secret_expires_at && d.previous_secret_expires_at > now) secrets.push(d.previous_secret);
  return secrets;
}

async function attempt(db: Db, d: repo.ClaimedDelivery, options: DeliveryOptions, result: SweepResult) {
  // Every time this attempt stores or signs is on the database's clock, which due-ness is judged by.
  const databaseClock = clockFrom(d.now);
  const [event] = await findEventsByIds(db, [d.event_id]);
  if (!event) throw new Error(`event ${d.event_id} of delivery ${d.id} is missing`);
  const body = JSON.stringify(envelopeOf(event));
  const startedAt = databaseClock();
  const headers = signatureHeaders(signingSecrets(d, d.now), eventPublicId(event.id), Math.floor(startedAt.getTime() / 1000), body);
  const response = await postWebhook(d.url, body, headers, options.webhookTimeoutMs);
  result.attempted++;
  const retryAt = response.ok ? null : nextRetryAt(options.webhookRetryScheduleMs, d.run_attempts + 1, databaseClock(), options.webhookRetryJitter);
  await inTransaction(db, async (trx) => {
    const outcome = await repo.completeAttempt(trx, d, { succeeded: response.ok, statusCode: response.statusCode, error: response.error, startedAt, retryAt });
    // Our lease ran out and another worker recorded this attempt: it owns the delivery now.
    if (!outcome.recorded) return;
    await repo.insertAttempt(trx, {
      program_id: d.program_id, delivery_id: d.id, attempt: d.attempts + 1, trigger: d.manual ? 'manual' : 'scheduled', started_at: startedAt,
      duration_ms: response.durationMs, status_code: response.statusCode, outcome: response.ok ? 'succeeded' : 'failed',
      error: response.error, response_body: response.responseBody,
    });
    if (response.ok) {
      result.succeeded++;
      await repo.recordEndpointSuccess(trx, d.endpoint_id);
      await repo.releaseNext(trx, d);
      return;
    }
    result.failed++;
    const endpoint = await repo.recordEndpointFailure(trx, d.endpoint_id);
    if (retryAt) {
      result.retryAt.push(retryAt);
      await repo.holdSuccessors(trx, d, retryAt);
      return;
    }
    result.gaveUp++;
    await repo.releaseNext(trx, d);
    // Failing without a single success for the whole retry schedule of this delivery: the
    // endpoint is gone or broken. Disable it (its pending deliveries wait) and say so.
    const runStart = d.run_started_at ?? startedAt;
    const failedThroughout = !endpoint.last_success_at || endpoint.last_success_at < runStart;
    if (options.disableFailingEndpoints && failedThroughout) {
      const reason = `delivery ${d.id} failed ${d.run_attempts + 1} times since ${runStart.toISOString()} with no successful delivery in between; last error: ${response.error ?? 'unknown'}`.slice(0, 500);
      const disabled = await repo.disableEndpoint(trx, d.endpoint_id, reason);
      if (disabled) {
        result.disabledEndpoints.push(disabled.id);
        await recordEvent(trx, d.program_id, 'webhook_endpoint.disabled', null, {
          endpointId: disabled.id, url: disabled.url, reason, failingSince: disabled.failing_since?.toISOString() ?? null,
          consecutiveFailures: disabled.consecutive_failures,
        });
      }
    }
  });
}

/**
 * Delivers everything due, `webhookParallelism` at a time: each lane leases one delivery, posts
 * it and records the outcome, until nothing is due or the time budget is spent. A worker killed
 * mid-request leaves a lease that runs out; the delivery is then sent again with the same
 * webhook-id, which receivers dedupe on (at-least-once, never lost).
 */
export async function deliverDue(db: Db, options: DeliveryOptions): Promise<SweepResult> {
  const result: SweepResult = { attempted: 0, succeeded: 0, failed: 0, gaveUp: 0, disabledEndpoints: [], more: false, retryAt: [] };
  ({ more: result.more } = await sweepLanes(options.webhookParallelism, options.sweepBudgetMs, async () => {
    const [delivery] = await repo.claimDueDeliveries(db, 1, options.webhookLeaseMs);
    if (!delivery) return false;
    await attempt(db, delivery, options, result);
    return true;
  }));
  return result;
}
