import { sql } from 'kysely';
import type { Db, Executor, Tx } from '../db/database.ts';
import type { WebhookDeliveryStatus } from '../db/schema.ts';

/**
 * Deliveries of a disabled endpoint wait with this due time, out of the way of the due index, until
 * it is enabled again. Likewise a member's deliveries queued behind one that is being retried wait
 * until that retry: the due index then only holds what can actually go out.
 */
export const PAUSED_UNTIL = new Date('3000-01-01T00:00:00Z');

export async function insertEndpoint(
  db: Executor,
  values: { program_id: string; url: string; description: string | null; event_types: string[]; secret: string; status: 'enabled' | 'disabled' },
) {
  return db
    .insertInto('webhook_endpoints')
    .values({ ...values, disabled_at: values.status === 'disabled' ? sql<Date>`now()` : null, disabled_reason: values.status === 'disabled' ? 'disabled when created' : null })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * An endpoint's signing secrets: the current one, and the previous one while its grace period
 * lasts — judged on the database's clock, which wrote the expiry and signs the deliveries.
 */
export async function findEndpointSecrets(db: Executor, programId: string, id: string) {
  return db
    .selectFrom('webhook_endpoints')
    .select(['secret', sql<string | null>`case when previous_secret_expires_at > now() then previous_secret end`.as('previous_secret'),
      sql<Date | null>`case when previous_secret_expires_at > now() and previous_secret is not null then previous_secret_expires_at end`.as('previous_secret_expires_at')])
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function findEndpoint(db: Executor, programId: string, id: string) {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export type EndpointRow = NonNullable<Awaited<ReturnType<typeof findEndpoint>>>;

export async function lockEndpoint(trx: Tx, programId: string, id: string) {
  return trx
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

export async function listEndpoints(db: Executor, programId: string) {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('program_id', '=', programId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function pendingCounts(db: Executor, endpointIds: string[]): Promise<Map<string, number>> {
  if (endpointIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select(['endpoint_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('endpoint_id', 'in', endpointIds)
    .where('status', '=', 'pending')
    .groupBy('endpoint_id')
    .execute();
  return new Map(rows.map((r) => [r.endpoint_id, Number(r.n)]));
}

export async function updateEndpointRow(
  trx: Tx,
  id: string,
  values: Partial<{
    url: string; description: string | null; event_types: string[]; status: 'enabled' | 'disabled'; disabled_reason: string | null;
    /** 'now': the database's instant. */
    disabled_at: Date | null | 'now'; secret: string; previous_secret: string | null; previous_secret_expires_at: Date | null;
    consecutive_failures: number; failing_since: Date | null;
  }>,
) {
  const { disabled_at: disabledAt, ...rest } = values;
  return trx
    .updateTable('webhook_endpoints')
    .set({ ...rest, ...(disabledAt === undefined ? {} : { disabled_at: disabledAt === 'now' ? sql<Date>`now()` : disabledAt }), updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function softDeleteEndpoint(trx: Tx, id: string) {
  await trx.updateTable('webhook_endpoints').set({ deleted_at: sql<Date>`now()`, updated_at: sql<Date>`now()` }).where('id', '=', id).execute();
  await trx
    .updateTable('webhook_deliveries')
    .set({ status: 'cancelled', completed_at: sql<Date>`now()`, locked_until: null })
    .where('endpoint_id', '=', id)
    .where('status', '=', 'pending')
    .execute();
}

/**
 * Creates the deliveries of a batch of events to every live endpoint subscribed to their type
 * ("points.earned", "points.*" or "*"), in event order: delivery ids are the per-endpoint order.
 */
export async function fanOut(trx: Tx, eventIds: number[]): Promise<number> {
  if (eventIds.length === 0) return 0;
  const { rows } = await sql<{ n: number }>`
    with inserted as (
      insert into webhook_deliveries (program_id, endpoint_id, event_id, event_type, member_id, next_attempt_at)
      select e.program_id, ep.id, e.id, e.type, e.member_id,
             case when ep.status = 'disabled' then ${PAUSED_UNTIL}::timestamptz
                  else greatest(now(), (select max(p.next_attempt_at) from webhook_deliveries p
                                        where p.endpoint_id = ep.id and p.member_id = e.member_id and p.status = 'pending')) end
      from events e
      join webhook_endpoints ep on ep.program_id = e.program_id and ep.deleted_at is null
      where e.id = any(${eventIds}::bigint[])
        and exists (
          select 1 from unnest(ep.event_types) p
          where p = '*' or p = e.type or (right(p, 2) = '.*' and starts_with(e.type, left(p, -1)))
        )
      order by e.id, ep.id
      on conflict (endpoint_id, event_id) do nothing
      returning 1
    )
    select count(*)::int as n from inserted`.execute(trx);
  return rows[0]?.n ?? 0;
}

export interface ClaimedDelivery {
  id: number;
  program_id: string;
  endpoint_id: string;
  event_id: number;
  member_id: string | null;
  attempts: number;
  run_attempts: number;
  run_started_at: Date | null;
  /** The lease this claim holds; an outcome is recorded only while it is still the delivery's. */
  locked_until: Date;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  manual: boolean;
  now: Date;
}

/**
 * Leases up to `limit` due deliveries. A delivery is due when its time has come, its endpoint is
 * enabled, nobody holds a live lease on it, and no older delivery of the same member to the same
 * endpoint is still pending (per-member order). Rows locked by another claimer are skipped.
 */
export async function claimDueDeliveries(db: Db, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>`
    with picked as (
      select d.id from webhook_deliveries d
      join webhook_endpoints ep on ep.id = d.endpoint_id
      where d.status = 'pending' and d.next_attempt_at <= now()
        and (d.locked_until is null or d.locked_until <= now())
        and ep.status = 'enabled' and ep.deleted_at is null
        and not exists (
          select 1 from webhook_deliveries p
          where p.endpoint_id = d.endpoint_id and p.member_id = d.member_id and p.status = 'pending' and p.id < d.id
        )
      order by d.next_attempt_at, d.id
      limit ${limit}
      for update of d skip locked
    ),
    leased as (
      -- Whole milliseconds: the lease is compared with the JS Date the claimer holds.
      update webhook_deliveries d set locked_until = date_trunc('milliseconds', now() + ${leaseMs} * interval '1 millisecond')
      from picked where d.id = picked.id
      returning d.*
    )
    select l.id, l.program_id, l.endpoint_id, l.event_id, l.member_id, l.attempts, l.run_attempts, l.run_started_at, l.locked_until,
           ep.url, ep.secret, ep.previous_secret, ep.previous_secret_expires_at,
           (l.run_attempts = 0 and l.attempts > 0) as manual, now() as now
    from leased l join webhook_endpoints ep on ep.id = l.endpoint_id
    order by l.id`.execute(db);
  return rows;
}

export async function insertAttempt(
  trx: Tx,
  values: {
    program_id: string; delivery_id: number; attempt: number; trigger: 'scheduled' | 'manual'; started_at: Date; duration_ms: number;
    status_code: number | null; outcome: 'succeeded' | 'failed'; error: string | null; response_body: string | null;
  },
) {
  await trx.insertInto('webhook_attempts').values(values).execute();
}

/** Records the outcome of an attempt, unless the lease was lost (another worker owns the delivery, or it was requeued). */
export async function completeAttempt(
  trx: Tx,
  delivery: ClaimedDelivery,
  outcome: { succeeded: boolean; statusCode: number | null; error: string | null; startedAt: Date; retryAt: Date | null },
): Promise<{ recorded: boolean; status: WebhookDeliveryStatus }> {
  const status: WebhookDeliveryStatus = outcome.succeeded ? 'succeeded' : outcome.retryAt ? 'pending' : 'failed';
  const updated = await trx
    .updateTable('webhook_deliveries')
    .set({
      status,
      attempts: delivery.attempts + 1,
      run_attempts: delivery.run_attempts + 1,
      run_started_at: delivery.run_started_at ?? outcome.startedAt,
      last_attempt_at: outcome.startedAt,
      last_status_code: outcome.statusCode,
      last_error: outcome.error,
      next_attempt_at: outcome.retryAt ?? outcome.startedAt,
      locked_until: null,
      completed_at: status === 'pending' ? null : sql<Date>`now()`,
    })
    .where('id', '=', delivery.id)
    .where('attempts', '=', delivery.attempts)
    .where('status', '=', 'pending')
    // Still our lease: not expired and re-claimed, nor cleared by a manual redelivery meanwhile.
    .where('locked_until', '=', delivery.locked_until)
    .executeTakeFirst();
  return { recorded: Number(updated.numUpdatedRows) === 1, status };
}

/** A retry at `until` holds back the member's later deliveries to that endpoint until then. */
export async function holdSuccessors(trx: Tx, d: { endpoint_id: string; member_id: string | null; id: number }, until: Date) {
  if (!d.member_id) return;
  await trx
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: sql<Date>`greatest(next_attempt_at, ${until}::timestamptz)` })
    .where('endpoint_id', '=', d.endpoint_id)
    .where('member_id', '=', d.member_id)
    .where('status', '=', 'pending')
    .where('id', '>', d.id)
    .where('next_attempt_at', '<', PAUSED_UNTIL)
    .execute();
}

/** Done with a delivery (succeeded or given up): the member's next one to that endpoint is due now. */
export async function releaseNext(trx: Tx, d: { endpoint_id: string; member_id: string | null; id: number }) {
  if (!d.member_id) return;
  await sql`
    update webhook_deliveries set next_attempt_at = now()
    where id = (
      select id from webhook_deliveries
      where endpoint_id = ${d.endpoint_id} and member_id = ${d.member_id} and status = 'pending' and id > ${d.id}
      order by id limit 1
    ) and next_attempt_at > now() and run_attempts = 0
      and exists (select 1 from webhook_endpoints ep where ep.id = ${d.endpoint_id} and ep.status = 'enabled')`.execute(trx);
}

/** Disabled: every pending delivery of the endpoint waits. */
export async function pauseDeliveries(trx: Tx, endpointId: string) {
  await trx.updateTable('webhook_deliveries').set({ next_attempt_at: PAUSED_UNTIL, locked_until: null })
    .where('endpoint_id', '=', endpointId).where('status', '=', 'pending').execute();
}

/**
 * Enabled again: the first pending delivery of each member (and every member-less one) is due
 * now; the others follow one by one as their predecessors complete.
 */
export async function resumeDeliveries(trx: Tx, endpointId: string) {
  await sql`
    update webhook_deliveries d set next_attempt_at = now()
    where d.endpoint_id = ${endpointId} and d.status = 'pending' and d.next_attempt_at >= ${PAUSED_UNTIL}
      and (d.member_id is null or not exists (
        select 1 from webhook_deliveries p
        where p.endpoint_id = d.endpoint_id and p.member_id = d.member_id and p.status = 'pending' and p.id < d.id
      ))`.execute(trx);
}

export async function recordEndpointSuccess(trx: Tx, endpointId: string) {
  await trx
    .updateTable('webhook_endpoints')
    .set({ consecutive_failures: 0, failing_since: null, last_success_at: sql<Date>`now()` })
    .where('id', '=', endpointId)
    .execute();
}

export async function recordEndpointFailure(trx: Tx, endpointId: string) {
  return trx
    .updateTable('webhook_endpoints')
    .set({
      consecutive_failures: sql<number>`consecutive_failures + 1`,
      failing_since: sql<Date>`coalesce(failing_since, now())`,
      last_failure_at: sql<Date>`now()`,
    })
    .where('id', '=', endpointId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function disableEndpoint(trx: Tx, endpointId: string, reason: string) {
  const endpoint = await trx
    .updateTable('webhook_endpoints')
    .set({ status: 'disabled', disabled_at: sql<Date>`now()`, disabled_reason: reason, updated_at: sql<Date>`now()` })
    .where('id', '=', endpointId)
    .where('status', '=', 'enabled')
    .returningAll()
    .executeTakeFirst();
  if (endpoint) await pauseDeliveries(trx, endpointId);
  return endpoint;
}

export async function listDeliveries(
  db: Executor,
  programId: string,
  filter: { endpointId?: string; status?: WebhookDeliveryStatus; eventType?: string; memberId?: string; beforeId?: number; limit: number },
) {
  let q = db.selectFrom('webhook_deliveries').selectAll().where('program_id', '=', programId);
  if (filter.endpointId) q = q.where('endpoint_id', '=', filter.endpointId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.eventType) q = q.where('event_type', '=', filter.eventType);
  if (filter.memberId) q = q.where('member_id', '=', filter.memberId);
  if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
  return q.orderBy('id', 'desc').limit(filter.limit).execute();
}

export type DeliveryRow = Awaited<ReturnType<typeof listDeliveries>>[number];

export async function findDelivery(db: Executor, programId: string, id: number) {
  return db.selectFrom('webhook_deliveries').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export async function lockDelivery(trx: Tx, programId: string, id: number) {
  return trx.selectFrom('webhook_deliveries').selectAll().where('program_id', '=', programId).where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function attemptsOf(db: Executor, deliveryIds: number[]) {
  if (deliveryIds.length === 0) return [];
  return db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', deliveryIds).orderBy('delivery_id').orderBy('attempt').execute();
}

export type AttemptRow = Awaited<ReturnType<typeof attemptsOf>>[number];

/** A manual redelivery: due now (or when a disabled endpoint is enabled), with a fresh retry schedule. */
export async function requeueDelivery(trx: Tx, id: number, paused: boolean) {
  return trx
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', completed_at: null, next_attempt_at: paused ? PAUSED_UNTIL : sql<Date>`now()`, run_attempts: 0, run_started_at: null, locked_until: null })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Failed deliveries of an endpoint since a time (for recovering after an outage). */
export async function requeueFailedSince(trx: Tx, endpointId: string, since: Date, paused: boolean): Promise<number> {
  const result = await trx
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', completed_at: null, next_attempt_at: paused ? PAUSED_UNTIL : sql<Date>`now()`, run_attempts: 0, run_started_at: null, locked_until: null })
    .where('endpoint_id', '=', endpointId)
    .where('status', '=', 'failed')
    .where('created_at', '>=', since)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
