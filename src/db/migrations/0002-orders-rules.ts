import { sql, type Kysely } from 'kysely';

// 2^53: every amount stays a safe JS integer.
const MAX = '9007199254740992';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
-- Per-program earning settings: how long a shopper may join and still claim an order, and from
-- which order event the return window (pending period) is counted by default.
create table earning_settings (
  program_id uuid primary key references programs(id),
  claim_window_days integer not null default 30 check (claim_window_days between 0 and 3650),
  pending_from text not null default 'paid' check (pending_from in ('paid', 'fulfilled')),
  updated_at timestamptz not null default now()
);

-- A rule's identity; what it does lives in its versions.
create table earning_rules (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  kind text not null check (kind in ('base_rate', 'multiplier', 'extra_points', 'cashback', 'threshold', 'challenge', 'action')),
  created_at timestamptz not null default now(),
  unique (program_id, id)
);

-- Versions are never edited: the version in force at an instant is the one with the latest
-- effective_from at or before it, so changing a rule never rewrites how past orders earned.
create table earning_rule_versions (
  id bigint generated always as identity primary key,
  program_id uuid not null,
  rule_id uuid not null,
  version integer not null check (version >= 1),
  effective_from timestamptz not null,
  enabled boolean not null,
  name text not null check (length(name) between 1 and 200),
  priority integer not null check (priority between 0 and 10000),
  stop_further boolean not null default false,
  config jsonb not null check (jsonb_typeof(config) = 'object'),
  created_by text not null,
  created_at timestamptz not null default now(),
  foreign key (program_id, rule_id) references earning_rules (program_id, id),
  unique (rule_id, version)
);
create index earning_rule_versions_program on earning_rule_versions (program_id, effective_from);

create table orders (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  store_id uuid,
  external_id text not null check (length(external_id) between 1 and 255),
  member_id uuid,
  -- the shopper's keys while no member is linked, to claim the order when they join
  customer_id text,
  email_normalized text,
  phone text,
  status text not null check (status in ('pending', 'paid', 'fulfilled', 'partially_refunded', 'refunded', 'cancelled')),
  currency char(3),
  channel text,
  placed_at timestamptz,
  paid_at timestamptz,
  fulfilled_at timestamptz,
  cancelled_at timestamptz,
  claim_until timestamptz,
  merchandise_minor bigint not null default 0 check (merchandise_minor >= 0 and merchandise_minor < ${MAX}),
  refunded_minor bigint not null default 0 check (refunded_minor >= 0 and refunded_minor < ${MAX}),
  -- the order as paid (derived from its events), the member context frozen when it was first
  -- linked, and the gross evaluation of the rules with the details hash it was made from
  details jsonb,
  details_hash text,
  context jsonb,
  evaluation jsonb,
  evaluated_hash text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (program_id, store_id) references stores (program_id, id),
  foreign key (program_id, member_id) references members (program_id, id),
  unique nulls not distinct (program_id, store_id, external_id),
  unique (program_id, id),
  check (refunded_minor <= merchandise_minor)
);
create index orders_member on orders (member_id, placed_at) where member_id is not null;
create index orders_unclaimed_customer on orders (program_id, customer_id) where member_id is null and customer_id is not null;
create index orders_unclaimed_email on orders (program_id, email_normalized) where member_id is null and email_normalized is not null;
create index orders_unclaimed_phone on orders (program_id, phone) where member_id is null and phone is not null;

-- Every event received, deduplicated by (order, event id): the order is a function of this set.
create table order_events (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  order_id uuid not null references orders(id),
  event_id text not null check (length(event_id) between 1 and 255),
  type text not null check (type in ('created', 'paid', 'fulfilled', 'cancelled', 'refunded')),
  occurred_at timestamptz not null,
  payload jsonb not null,
  payload_hash text not null,
  received_at timestamptz not null default now(),
  unique (order_id, event_id)
);

create table member_actions (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  member_id uuid not null,
  type text not null check (type ~ '^[a-z][a-z0-9_]{0,63}$'),
  quantity bigint not null check (quantity > 0 and quantity < ${MAX}),
  occurred_at timestamptz not null,
  reference_type text check (length(reference_type) between 1 and 64),
  reference_id text check (length(reference_id) between 1 and 255),
  attributes jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
  points jsonb not null default '{}',
  evaluation jsonb not null default '{}',
  created_at timestamptz not null default now(),
  foreign key (program_id, member_id) references members (program_id, id)
);
create index member_actions_member on member_actions (member_id, type, occurred_at);

-- Ledger earns made by rules, with the breakdown that explains each one.
create table awards (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  member_id uuid not null references members(id),
  operation_id uuid not null unique references operations(id),
  component text not null check (length(component) between 1 and 200),
  order_id uuid references orders(id),
  action_id uuid references member_actions(id),
  breakdown jsonb not null,
  created_at timestamptz not null default now(),
  check (order_id is not null or action_id is not null)
);
create index awards_order on awards (order_id) where order_id is not null;
create index awards_action on awards (action_id) where action_id is not null;
create index awards_member on awards (member_id, component);

-- Points each rule currently gives a member from one source (after refunds): what per-member
-- caps per period count against.
create table rule_points (
  program_id uuid not null references programs(id),
  member_id uuid not null references members(id),
  rule_id uuid not null references earning_rules(id),
  source_type text not null check (source_type in ('order', 'action')),
  source_id uuid not null,
  occurred_at timestamptz not null,
  points bigint not null check (points >= 0 and points < ${MAX}),
  primary key (member_id, rule_id, source_type, source_id)
);
create index rule_points_period on rule_points (member_id, rule_id, occurred_at);

-- What each order or action currently adds to a member's threshold or challenge progress.
create table progress_contributions (
  program_id uuid not null references programs(id),
  member_id uuid not null references members(id),
  rule_id uuid not null references earning_rules(id),
  rule_version integer not null,
  period_key text not null,
  source_type text not null check (source_type in ('order', 'action')),
  source_id uuid not null,
  occurred_at timestamptz not null,
  amount bigint not null check (amount >= 0 and amount < ${MAX}),
  primary key (member_id, rule_id, period_key, source_type, source_id)
);
`).execute(db);
}
