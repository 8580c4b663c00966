import { sql, type Kysely } from 'kysely';

// 2^53: every amount stays a safe JS integer.
const MAX = '9007199254740992';

/**
 * Tiers (VIP levels): one ladder per program, the member's tier state, a signed metric ledger
 * that qualification is computed from, paid memberships, history. Calendar logic lives in the
 * SQL functions below so that the per-member path and the set-based review job share it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
create table tier_ladders (
  program_id uuid primary key references programs(id),
  window_kind text not null check (window_kind in ('calendar_year', 'rolling_months', 'lifetime', 'anniversary')),
  window_months integer check (window_months between 1 and 120),
  qualification text not null default 'any' check (qualification in ('any', 'all')),
  grace_days integer not null default 0 check (grace_days between 0 and 180),
  downgrade_one_level boolean not null default false,
  refund_downgrade text not null default 'at_review' check (refund_downgrade in ('at_review', 'immediate')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((window_kind = 'rolling_months') = (window_months is not null)),
  check (window_kind <> 'rolling_months' or grace_days < window_months * 28)
);

create table tiers (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references tier_ladders(program_id),
  code text not null check (code ~ '^[a-z][a-z0-9_]{0,31}$'),
  name text not null check (length(name) between 1 and 100),
  description text check (length(description) <= 1000),
  -- position in the ladder, lowest first; unique, deferred so a ladder can be reordered in one transaction
  rank integer not null check (rank between 0 and 99),
  kind text not null check (kind in ('earned', 'invitation', 'paid')),
  min_net_spend bigint check (min_net_spend >= 0 and min_net_spend < ${MAX}),
  min_points_earned bigint check (min_points_earned >= 0 and min_points_earned < ${MAX}),
  min_orders bigint check (min_orders >= 0 and min_orders < ${MAX}),
  price_minor bigint check (price_minor >= 0 and price_minor < ${MAX}),
  period_months integer check (period_months between 1 and 120),
  earn_multiplier_bp integer not null default 10000 check (earn_multiplier_bp between 0 and 100000),
  free_shipping boolean not null default false,
  early_access boolean not null default false,
  discount_bp integer not null default 0 check (discount_bp between 0 and 10000),
  perks jsonb not null default '[]' check (jsonb_typeof(perks) = 'array'),
  entry_reward_points bigint check (entry_reward_points > 0 and entry_reward_points < ${MAX}),
  entry_reward_wallet text,
  birthday_points bigint check (birthday_points > 0 and birthday_points < ${MAX}),
  birthday_wallet text,
  birthday_reward_code text check (length(birthday_reward_code) between 1 and 64),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (program_id, code),
  unique (program_id, id),
  constraint tiers_rank unique (program_id, rank) deferrable initially deferred,
  -- only earned tiers have thresholds, and they always have at least one
  check ((kind = 'earned') = (coalesce(min_net_spend, min_points_earned, min_orders) is not null)),
  check ((kind = 'paid') = (price_minor is not null)),
  check ((price_minor is null) = (period_months is null)),
  check ((entry_reward_points is null) = (entry_reward_wallet is null)),
  check ((birthday_points is null) = (birthday_wallet is null)),
  foreign key (program_id, entry_reward_wallet) references wallets (program_id, code),
  foreign key (program_id, birthday_wallet) references wallets (program_id, code)
);

-- The qualifying activity of members: signed amounts (a refund is negative), each counted in the
-- window its occurred_at falls in. One row per business event and metric, so replays are no-ops.
create table tier_metric_events (
  id bigint generated always as identity primary key,
  program_id uuid not null,
  member_id uuid not null,
  metric text not null check (metric in ('net_spend', 'points_earned', 'orders')),
  amount bigint not null check (amount <> 0 and amount > -${MAX} and amount < ${MAX}),
  occurred_at timestamptz not null,
  source_type text not null check (length(source_type) between 1 and 64),
  source_id text not null check (length(source_id) between 1 and 255),
  recorded_at timestamptz not null default now(),
  foreign key (program_id, member_id) references members (program_id, id),
  unique (program_id, metric, source_type, source_id)
);
create index tier_metric_events_member on tier_metric_events (member_id, occurred_at) include (metric, amount);

-- A member's tier state. tier_id is the effective tier: the lock if one is active, else the
-- highest of the earned tier, an active floor, an active invitation, an active paid membership
-- and the ladder's entry tier. Only time-bound fields feed due_at, the review job's queue.
create table member_tiers (
  member_id uuid primary key,
  program_id uuid not null,
  tier_id uuid,
  earned_tier_id uuid,
  qualified_at timestamptz,
  review_at timestamptz,
  last_review_at timestamptz,
  grace_until timestamptz,
  grace_tier_id uuid,
  floor_tier_id uuid,
  floor_until timestamptz,
  floor_reason text check (length(floor_reason) between 1 and 500),
  lock_tier_id uuid,
  lock_until timestamptz,
  lock_reason text check (length(lock_reason) between 1 and 500),
  invited_tier_id uuid,
  invited_until timestamptz,
  paid_check_at timestamptz,
  due_at timestamptz generated always as (least(review_at, grace_until, floor_until, lock_until, invited_until, paid_check_at)) stored,
  changed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (program_id, member_id) references members (program_id, id),
  foreign key (program_id, tier_id) references tiers (program_id, id),
  foreign key (program_id, earned_tier_id) references tiers (program_id, id),
  foreign key (program_id, grace_tier_id) references tiers (program_id, id),
  foreign key (program_id, floor_tier_id) references tiers (program_id, id),
  foreign key (program_id, lock_tier_id) references tiers (program_id, id),
  foreign key (program_id, invited_tier_id) references tiers (program_id, id),
  check ((lock_tier_id is null) = (lock_until is null)),
  check ((lock_tier_id is null) = (lock_reason is null)),
  check ((floor_tier_id is null) = (floor_reason is null)),
  check (floor_until is null or floor_tier_id is not null),
  check (invited_until is null or invited_tier_id is not null),
  check (grace_until is null or earned_tier_id is not null),
  check (grace_until is not null or grace_tier_id is null)
);
create index member_tiers_due on member_tiers (program_id, due_at, member_id) where due_at is not null;

create table tier_memberships (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null,
  member_id uuid not null,
  tier_id uuid not null,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  status text not null default 'active' check (status in ('active', 'cancelled')),
  auto_renew boolean not null default true,
  periods integer not null default 1 check (periods between 1 and 10000),
  price_minor bigint not null check (price_minor >= 0 and price_minor < ${MAX}),
  reference_type text check (length(reference_type) between 1 and 64),
  reference_id text check (length(reference_id) between 1 and 255),
  cancelled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (program_id, member_id) references members (program_id, id),
  foreign key (program_id, tier_id) references tiers (program_id, id),
  -- equal when cancelled at the instant it started
  check (ends_at >= starts_at),
  check ((status = 'cancelled') = (cancelled_at is not null))
);
create index tier_memberships_member on tier_memberships (member_id, ends_at);

create table member_tier_history (
  id bigint generated always as identity primary key,
  program_id uuid not null,
  member_id uuid not null,
  -- codes, not ids: history outlives the ladder's edits
  from_tier text,
  to_tier text,
  direction text not null check (direction in ('up', 'down')),
  reason text not null check (length(reason) between 1 and 64),
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object'),
  actor text not null,
  created_at timestamptz not null,
  foreign key (program_id, member_id) references members (program_id, id),
  check (from_tier is distinct from to_tier)
);
create index member_tier_history_member on member_tier_history (member_id, id);

-- The first time a member held each tier: the one-time entry reward hangs off this row.
create table tier_first_reached (
  member_id uuid not null,
  tier_code text not null,
  program_id uuid not null,
  reached_at timestamptz not null,
  entry_operation_id uuid references operations(id),
  primary key (member_id, tier_code),
  foreign key (program_id, member_id) references members (program_id, id)
);

create table tier_birthday_gifts (
  member_id uuid not null,
  year integer not null check (year between 1900 and 9999),
  program_id uuid not null,
  tier_code text not null,
  operation_id uuid references operations(id),
  reward_code text,
  created_at timestamptz not null default now(),
  primary key (member_id, year),
  foreign key (program_id, member_id) references members (program_id, id)
);

-- Calendar arithmetic of tier windows, in the program's time zone. null means unbounded.
-- The k-th join anniversary (k may be negative) of an enrolment: local midnight of the enrolment
-- date plus k years; 29 February falls on 28 February in other years.
create function laurel_tier_anniversary(tz text, enrolled timestamptz, instant timestamptz, shift integer)
returns timestamptz language sql immutable parallel safe as $$
  select (date_trunc('day', enrolled at time zone tz)
    + make_interval(years => (extract(year from instant at time zone tz) - extract(year from enrolled at time zone tz))::int
      - (case when date_trunc('day', enrolled at time zone tz)
          + make_interval(years => (extract(year from instant at time zone tz) - extract(year from enrolled at time zone tz))::int)
          > instant at time zone tz then 1 else 0 end)
      + shift)) at time zone tz
$$;

-- Start of the qualification window that contains an instant.
create function laurel_tier_window_start(kind text, months integer, tz text, enrolled timestamptz, instant timestamptz)
returns timestamptz language sql immutable parallel safe as $$
  select case kind
    when 'calendar_year' then date_trunc('year', instant at time zone tz) at time zone tz
    when 'anniversary' then laurel_tier_anniversary(tz, enrolled, instant, 0)
    when 'rolling_months' then ((instant at time zone tz) - make_interval(months => months)) at time zone tz
    else null
  end
$$;

-- End (exclusive) of the qualification window that contains an instant.
create function laurel_tier_window_end(kind text, months integer, tz text, enrolled timestamptz, instant timestamptz)
returns timestamptz language sql immutable parallel safe as $$
  select case kind
    when 'calendar_year' then (date_trunc('year', instant at time zone tz) + interval '1 year') at time zone tz
    when 'anniversary' then laurel_tier_anniversary(tz, enrolled, instant, 1)
    else null
  end
$$;

-- When an earned tier reached or confirmed at an instant is next reviewed.
create function laurel_tier_next_review(kind text, months integer, tz text, enrolled timestamptz, instant timestamptz)
returns timestamptz language sql immutable parallel safe as $$
  select case kind
    when 'rolling_months' then ((instant at time zone tz) + make_interval(months => months)) at time zone tz
    when 'lifetime' then (date_trunc('year', instant at time zone tz) + interval '1 year') at time zone tz
    else laurel_tier_window_end(kind, months, tz, enrolled, instant)
  end
$$;

-- Start (inclusive) of the window a review at review_at judges: the window that ends at
-- review_at. For a rolling window that is the time since the tier was reached or last confirmed
-- (period_start, exclusive: the activity that reached the tier counts for that period only).
-- Exclusive as "+ 1 ms": tier instants come from JavaScript dates, whose precision is 1 ms, and a
-- start with microseconds would not survive the trip through a JavaScript Date.
create function laurel_tier_review_window_start(kind text, months integer, tz text, enrolled timestamptz, review_at timestamptz, period_start timestamptz)
returns timestamptz language sql immutable parallel safe as $$
  select case kind
    when 'rolling_months' then coalesce(period_start + interval '1 millisecond',
      ((review_at at time zone tz) - make_interval(months => months)) at time zone tz)
    when 'lifetime' then null
    else laurel_tier_window_start(kind, months, tz, enrolled, review_at - interval '1 microsecond')
  end
$$;
`).execute(db);
}
