import type { Executor, Tx } from '../db/database.ts';
import type { WebhookDeliveryStatus } from '../db/schema.ts';
import { envelopeOf, eventPublicId, findEventsByIds, notifyWorker } from '../events/event-repository.ts';
import { subscriptionProblem } from '../events/event-types.ts';
import { ProblemError } from '../http/error-codes.ts';
import { insertAuditEvent } from '../programs/program-repository.ts';
import * as repo from './webhook-repository.ts';
import { generateSecret, isValidSecret } from './webhook-signature.ts';
import { decodeIdCursor } from '../http/cursor.ts';

export const DEFAULT_ROTATION_GRACE_MS = 24 * 3_600_000;
export const MAX_ROTATION_GRACE_MS = 7 * 24 * 3_600_000;

export function endpointView(e: repo.EndpointRow, pending = 0) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    eventTypes: e.event_types,
    status: e.status,
    disabledReason: e.disabled_reason,
    disabledAt: e.disabled_at?.toISOString() ?? null,
    health: {
      consecutiveFailures: e.consecutive_failures,
      failingSince: e.failing_since?.toISOString() ?? null,
      lastSuccessAt: e.last_success_at?.toISOString() ?? null,
      lastFailureAt: e.last_failure_at?.toISOString() ?? null,
      pendingDeliveries: pending,
    },
    previousSecretExpiresAt: e.previous_secret_expires_at?.toISOString() ?? null,
    createdAt: e.created_at.toISOString(),
    updatedAt: e.updated_at.toISOString(),
  };
}

export function deliveryView(d: repo.DeliveryRow, attempts: repo.AttemptRow[] = []) {
  return {
    id: String(d.id),
    endpointId: d.endpoint_id,
    eventId: eventPublicId(d.event_id),
    eventType: d.event_type,
    memberId: d.member_id,
    status: d.status,
    attempts: d.attempts,
    // Null while paused (endpoint disabled): it is due again when the endpoint is enabled.
    nextAttemptAt: d.status === 'pending' && d.next_attempt_at < repo.PAUSED_UNTIL ? d.next_attempt_at.toISOString() : null,
    lastAttemptAt: d.last_attempt_at?.toISOString() ?? null,
    lastStatusCode: d.last_status_code,
    lastError: d.last_error,
    completedAt: d.completed_at?.toISOString() ?? null,
    createdAt: d.created_at.toISOString(),
    attemptLog: attempts.map((a) => ({
      attempt: a.attempt,
      trigger: a.trigger,
      startedAt: a.started_at.toISOString(),
      latencyMs: a.duration_ms,
      statusCode: a.status_code,
      outcome: a.outcome,
      error: a.error,
      responseBody: a.response_body,
    })),
  };
}

/** Only http(s) URLs without credentials; the worker never requests anything but these URLs. */
export function assertWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ProblemError('invalid_webhook_url', `"${raw}" is not an absolute URL`, { field: 'url' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ProblemError('invalid_webhook_url', 'webhook URLs use https (or http for local receivers)', { field: 'url' });
  }
  if (url.username || url.password) {
    throw new ProblemError('invalid_webhook_url', 'credentials in the URL would be logged; verify the signature instead', { field: 'url' });
  }
  if (url.hash) throw new ProblemError('invalid_webhook_url', 'a webhook URL has no #fragment', { field: 'url' });
  return url.toString();
}

export function assertEventTypes(types: string[]): string[] {
  const unique = [...new Set(types)];
  for (const type of unique) {
    const problem = subscriptionProblem(type);
    if (problem) throw new ProblemError('unknown_event_type', `${problem}; GET /v1/event-types lists them`, { field: 'eventTypes', eventType: type });
  }
  return unique;
}

async function requireEndpoint(trx: Tx, programId: string, id: string) {
  const endpoint = await repo.lockEndpoint(trx, programId, id);
  if (!endpoint) throw new ProblemError('webhook_endpoint_not_found', `no webhook endpoint ${id} in this program`);
  return endpoint;
}

export interface EndpointInput {
  url: string;
  eventTypes: string[];
  description?: string | null;
  status?: 'enabled' | 'disabled';
  secret?: string;
}

export async function createEndpoint(trx: Tx, programId: string, actor: string, input: EndpointInput) {
  if (input.secret !== undefined && !isValidSecret(input.secret)) {
    throw new ProblemError('validation_failed', 'secret must be "whsec_" followed by the base64 of 24 to 64 random bytes', { field: 'secret' });
  }
  const endpoint = await repo.insertEndpoint(trx, {
    program_id: programId,
    url: assertWebhookUrl(input.url),
    description: input.description ?? null,
    event_types: assertEventTypes(input.eventTypes),
    secret: input.secret ?? generateSecret(),
    status: input.status ?? 'enabled',
  });
  await insertAuditEvent(trx, {
    program_id: programId, actor, action: 'webhook_endpoint.created', subject_type: 'webhook_endpoint', subject_id: endpoint.id,
    details: { url: endpoint.url, eventTypes: endpoint.event_types },
  });
  return { ...endpointView(endpoint), secret: endpoint.secret };
}

export async function listEndpointViews(db: Executor, programId: string) {
  const rows = await repo.listEndpoints(db, programId);
  const pending = await repo.pendingCounts(db, rows.map((r) => r.id));
  return rows.map((r) => endpointView(r, pending.get(r.id) ?? 0));
}

export async function getEndpoint(db: Executor, programId: string, id: string) {
  const endpoint = await repo.findEndpoint(db, programId, id);
  if (!endpoint) throw new ProblemError('webhook_endpoint_not_found', `no webhook endpoint ${id} in this program`);
  const pending = await repo.pendingCounts(db, [id]);
  return endpointView(endpoint, pending.get(id) ?? 0);
}

export async function getEndpointSecret(db: Executor, programId: string, id: string) {
  const secrets = await repo.findEndpointSecrets(db, programId, id);
  if (!secrets) throw new ProblemError('webhook_endpoint_not_found', `no webhook endpoint ${id} in this program`);
  return {
    secret: secrets.secret,
    previousSecret: secrets.previous_secret,
    previousSecretExpiresAt: secrets.previous_secret_expires_at?.toISOString() ?? null,
  };
}

export async function updateEndpoint(
  trx: Tx, programId: string, actor: string, id: string,
  input: { url?: string; eventTypes?: string[]; description?: string | null; status?: 'enabled' | 'disabled' },
) {
  const before = await requireEndpoint(trx, programId, id);
  const values: Parameters<typeof repo.updateEndpointRow>[2] = {};
  if (input.url !== undefined) values.url = assertWebhookUrl(input.url);
  if (input.eventTypes !== undefined) values.event_types = assertEventTypes(input.eventTypes);
  if (input.description !== undefined) values.description = input.description;
  if (input.status !== undefined && input.status !== before.status) {
    values.status = input.status;
    if (input.status === 'enabled') {
      // A fresh start: the failure streak that disabled it is over; pending deliveries resume in order.
      Object.assign(values, { disabled_at: null, disabled_reason: null, consecutive_failures: 0, failing_since: null });
    } else {
      Object.assign(values, { disabled_at: 'now', disabled_reason: `disabled by ${actor}` });
    }
  }
  const endpoint = await repo.updateEndpointRow(trx, id, values);
  if (values.status === 'disabled') await repo.pauseDeliveries(trx, id);
  if (values.status === 'enabled') await repo.resumeDeliveries(trx, id);
  await insertAuditEvent(trx, {
    program_id: programId, actor, action: 'webhook_endpoint.updated', subject_type: 'webhook_endpoint', subject_id: id, details: { ...input },
  });
  if (values.status === 'enabled') await notifyWorker(trx, 'deliveries');
  const pending = await repo.pendingCounts(trx, [id]);
  return endpointView(endpoint, pending.get(id) ?? 0);
}

export async function deleteEndpoint(trx: Tx, programId: string, actor: string, id: string) {
  await requireEndpoint(trx, programId, id);
  await repo.softDeleteEndpoint(trx, id);
  await insertAuditEvent(trx, { program_id: programId, actor, action: 'webhook_endpoint.deleted', subject_type: 'webhook_endpoint', subject_id: id });
}

/**
 * A new secret signs from now on; the old one keeps signing too (two signatures per request)
 * until the grace period ends, so receivers can switch without dropping a single event.
 */
export async function rotateSecret(trx: Tx, programId: string, actor: string, id: string, input: { graceMs?: number; secret?: string }) {
  const endpoint = await requireEndpoint(trx, programId, id);
  if (input.secret !== undefined && !isValidSecret(input.secret)) {
    throw new ProblemError('validation_failed', 'secret must be "whsec_" followed by the base64 of 24 to 64 random bytes', { field: 'secret' });
  }
  const graceMs = input.graceMs ?? DEFAULT_ROTATION_GRACE_MS;
  const secret = input.secret ?? generateSecret();
  if (secret === endpoint.secret) throw new ProblemError('validation_failed', 'the new secret equals the current one', { field: 'secret' });
  const updated = await repo.updateEndpointRow(trx, id, {
    secret,
    previous_secret: graceMs > 0 ? endpoint.secret : null,
    previous_secret_expires_at: graceMs > 0 ? new Date(Date.now() + graceMs) : null,
  });
  await insertAuditEvent(trx, {
    program_id: programId, actor, action: 'webhook_endpoint.secret_rotated', subject_type: 'webhook_endpoint', subject_id: id, details: { graceMs },
  });
  return { secret: updated.secret, previousSecretExpiresAt: updated.previous_secret_expires_at?.toISOString() ?? null };
}

export function parseDeliveryId(raw: string): number {
  const id = Number(raw);
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(id)) throw new ProblemError('webhook_delivery_not_found', `no webhook delivery ${raw}`);
  return id;
}

export async function listDeliveryViews(
  db: Executor, programId: string,
  query: { endpointId?: string; status?: WebhookDeliveryStatus; eventType?: string; memberId?: string; cursor?: string; limit?: number },
) {
  if (query.endpointId && !(await repo.findEndpoint(db, programId, query.endpointId))) {
    throw new ProblemError('webhook_endpoint_not_found', `no webhook endpoint ${query.endpointId} in this program`);
  }
  const beforeId = decodeIdCursor(query.cursor);
  const limit = query.limit ?? 50;
  const rows = await repo.listDeliveries(db, programId, { ...query, beforeId, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const attempts = await repo.attemptsOf(db, page.map((d) => d.id));
  return {
    data: page.map((d) => deliveryView(d, attempts.filter((a) => a.delivery_id === d.id))),
    nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
  };
}

export async function getDelivery(db: Executor, programId: string, rawId: string) {
  const delivery = await repo.findDelivery(db, programId, parseDeliveryId(rawId));
  if (!delivery) throw new ProblemError('webhook_delivery_not_found', `no webhook delivery ${rawId} in this program`);
  const [event] = await findEventsByIds(db, [delivery.event_id]);
  return { ...deliveryView(delivery, await repo.attemptsOf(db, [delivery.id])), event: envelopeOf(event!) };
}

/** Sends a delivery again now (whatever its state), with a fresh retry schedule and the same webhook-id. */
export async function redeliver(trx: Tx, programId: string, actor: string, rawId: string) {
  const found = await repo.lockDelivery(trx, programId, parseDeliveryId(rawId));
  if (!found) throw new ProblemError('webhook_delivery_not_found', `no webhook delivery ${rawId} in this program`);
  const endpoint = await repo.findEndpoint(trx, programId, found.endpoint_id);
  if (!endpoint) throw new ProblemError('webhook_endpoint_not_found', `the endpoint of delivery ${rawId} was deleted`);
  const delivery = await repo.requeueDelivery(trx, found.id, endpoint.status === 'disabled');
  await insertAuditEvent(trx, { program_id: programId, actor, action: 'webhook_delivery.redelivered', subject_type: 'webhook_delivery', subject_id: String(found.id) });
  await notifyWorker(trx, 'deliveries');
  return deliveryView(delivery, await repo.attemptsOf(trx, [delivery.id]));
}

/** After an outage: every delivery to this endpoint given up since `since` is sent again, in order. */
export async function recoverFailed(trx: Tx, programId: string, actor: string, id: string, since: Date) {
  const endpoint = await requireEndpoint(trx, programId, id);
  const requeued = await repo.requeueFailedSince(trx, id, since, endpoint.status === 'disabled');
  await insertAuditEvent(trx, {
    program_id: programId, actor, action: 'webhook_endpoint.recovered', subject_type: 'webhook_endpoint', subject_id: id, details: { since: since.toISOString(), requeued },
  });
  if (requeued > 0) await notifyWorker(trx, 'deliveries');
  return { requeued };
}
