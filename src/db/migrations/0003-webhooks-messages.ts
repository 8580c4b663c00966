import { sql, type Kysely } from 'kysely';

/**
 * Outbox dispatch, webhook endpoints and deliveries, lifecycle messages, and the bookkeeping of
 * the scheduled per-program jobs (runs and once-only marks).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
-- The outbox is read by "not yet dispatched" rather than by an id cursor: identity values are
-- taken at insert but become visible at commit, so a cursor would skip a slow transaction's event.
alter table events add column dispatched_at timestamptz;
create index events_undispatched on events (id) where dispatched_at is null;
create index events_member on events (program_id, member_id, id) where member_id is not null;

-- Wakes the worker as soon as an event commits (NOTIFY is delivered at commit, once per
-- transaction and channel payload); a per-minute sweep covers a worker that was not listening.
create function laurel_events_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('laurel_worker', 'outbox');
  return null;
end $$;
create trigger events_notify after insert on events
  for each statement execute function laurel_events_notify();

create table webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  url text not null check (length(url) between 10 and 2048 and url ~ '^https?://'),
  description text check (length(description) <= 500),
  event_types text[] not null check (cardinality(event_types) between 1 and 100),
  status text not null default 'enabled' check (status in ('enabled', 'disabled')),
  disabled_reason text check (length(disabled_reason) <= 500),
  disabled_at timestamptz,
  -- Standard Webhooks secrets: "whsec_" + base64 of the HMAC key
  secret text not null check (secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'),
  previous_secret text check (previous_secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'),
  previous_secret_expires_at timestamptz,
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  failing_since timestamptz,
  last_success_at timestamptz,
  last_failure_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (program_id, id),
  check ((status = 'disabled') = (disabled_at is not null)),
  check ((previous_secret is null) = (previous_secret_expires_at is null)),
  check ((consecutive_failures = 0) = (failing_since is null))
);
create index webhook_endpoints_program on webhook_endpoints (program_id, created_at) where deleted_at is null;

-- One row per (endpoint, event): its state, retry schedule and lease. Per-member order is the
-- order of ids: a delivery waits while an older one for the same endpoint and member is pending.
create table webhook_deliveries (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  endpoint_id uuid not null,
  event_id bigint not null references events(id),
  event_type text not null,
  member_id uuid,
  status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed', 'cancelled')),
  attempts integer not null default 0 check (attempts >= 0),
  -- attempts since the schedule (re)started: a manual redelivery restarts it
  run_attempts integer not null default 0 check (run_attempts >= 0 and run_attempts <= attempts),
  run_started_at timestamptz,
  next_attempt_at timestamptz not null default now(),
  locked_until timestamptz,
  last_attempt_at timestamptz,
  last_status_code integer,
  last_error text,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  foreign key (program_id, endpoint_id) references webhook_endpoints (program_id, id),
  unique (endpoint_id, event_id),
  check ((status = 'pending') = (completed_at is null))
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at, id) where status = 'pending';
create index webhook_deliveries_member_pending on webhook_deliveries (endpoint_id, member_id, id) where status = 'pending';
create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, id);
create index webhook_deliveries_event on webhook_deliveries (event_id);

create table webhook_attempts (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  delivery_id bigint not null references webhook_deliveries(id),
  attempt integer not null check (attempt >= 1),
  trigger text not null check (trigger in ('scheduled', 'manual')),
  started_at timestamptz not null,
  duration_ms integer not null check (duration_ms >= 0),
  status_code integer,
  outcome text not null check (outcome in ('succeeded', 'failed')),
  error text,
  response_body text check (length(response_body) <= 2048),
  unique (delivery_id, attempt)
);

-- Per-program configuration of the lifecycle jobs and messages, and the key that signs
-- unsubscribe tokens.
create table lifecycle_settings (
  program_id uuid primary key references programs(id),
  settings jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  signing_key bytea not null check (length(signing_key) = 32),
  updated_at timestamptz not null default now()
);

-- Merchant overrides of the shipped templates.
create table message_templates (
  program_id uuid not null references programs(id),
  kind text not null,
  locale text not null check (length(locale) between 2 and 35),
  subject text not null check (length(subject) between 1 and 300),
  body text not null check (length(body) between 1 and 20000),
  updated_by text not null,
  updated_at timestamptz not null default now(),
  primary key (program_id, kind, locale)
);

-- Every message Laurel decided to send, once per dedupe key: a retried job finds the row and
-- never creates or sends a second one.
create table messages (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  member_id uuid not null,
  kind text not null,
  channel text not null check (channel in ('email', 'webhook')),
  dedupe_key text not null check (length(dedupe_key) between 1 and 300),
  event_id bigint references events(id),
  context jsonb not null default '{}',
  status text not null default 'pending' check (status in ('pending', 'sent', 'skipped', 'failed')),
  skip_reason text,
  locale text,
  recipient text,
  subject text,
  body_text text,
  body_html text,
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  locked_until timestamptz,
  last_error text,
  provider_response text,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (program_id, member_id) references members (program_id, id),
  unique (program_id, dedupe_key),
  check ((status = 'sent') = (sent_at is not null)),
  check ((status = 'skipped') = (skip_reason is not null))
);
create index messages_due on messages (next_attempt_at) where status = 'pending';
create index messages_member on messages (program_id, member_id, created_at);
create index messages_program on messages (program_id, created_at, id);

create table message_unsubscribes (
  program_id uuid not null references programs(id),
  member_id uuid not null,
  source text not null check (source in ('link', 'api')),
  created_at timestamptz not null default now(),
  primary key (program_id, member_id),
  foreign key (program_id, member_id) references members (program_id, id)
);

-- One row per program, daily job and local date: the scheduler enqueues a run exactly once, and
-- re-enqueues it when its worker stopped heartbeating before completing it.
create table scheduled_runs (
  program_id uuid not null references programs(id),
  job text not null check (length(job) between 1 and 64),
  local_date date not null,
  enqueued_at timestamptz not null default now(),
  heartbeat_at timestamptz,
  completed_at timestamptz,
  runs integer not null default 0 check (runs >= 0),
  last_error text,
  primary key (program_id, job, local_date)
);
create index scheduled_runs_open on scheduled_runs (enqueued_at) where completed_at is null;

-- "Already done" marks of the daily jobs (a reminder for these lots, this year's birthday, this
-- lapse): inserted in the same transaction as the event they guard.
create table lifecycle_marks (
  program_id uuid not null references programs(id),
  key text not null check (length(key) between 1 and 300),
  member_id uuid,
  created_at timestamptz not null default now(),
  -- when the mark can no longer matter and may be deleted; null: keep
  expires_at timestamptz,
  primary key (program_id, key)
);
create index lifecycle_marks_expiry on lifecycle_marks (expires_at) where expires_at is not null;

-- The daily birthday job looks members up by month and day of birth.
create index members_birthday_md on members (program_id, (extract(month from birthday)), (extract(day from birthday))) where birthday is not null;
`).execute(db);
}
